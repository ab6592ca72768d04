from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from controlpanel.env import env_bool, env_int, env_list, env_str, env_url, env_urls


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_it_reads_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", not expected) is expected


def test_it_refuses_a_boolean_it_does_not_understand(monkeypatch):
    monkeypatch.setenv("DEBUG", "Flase")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='Flase' is not a boolean"):
        env_bool("DEBUG", False)


def test_it_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("FLAG", raising=False)
    assert env_bool("FLAG", True) is True
    assert env_int("NUMBER", 7) == 7
    assert env_list("ITEMS", ["a"]) == ["a"]


def test_it_refuses_a_bad_integer_and_one_below_the_minimum(monkeypatch):
    monkeypatch.setenv("NUMBER", "80a")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("NUMBER", 1)
    monkeypatch.setenv("NUMBER", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("NUMBER", 5, minimum=1)


def test_it_splits_lists_and_drops_empty_items(monkeypatch):
    monkeypatch.setenv("ITEMS", "a.example, b.example,,")
    assert env_list("ITEMS", []) == ["a.example", "b.example"]


def test_it_reads_a_secret_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cr3t\n")
    monkeypatch.delenv("TOKEN", raising=False)
    monkeypatch.setenv("TOKEN_FILE", str(secret))
    assert env_str("TOKEN") == "s3cr3t"


def test_it_prefers_the_variable_over_the_file(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-file")
    monkeypatch.setenv("TOKEN", "from-env")
    monkeypatch.setenv("TOKEN_FILE", str(secret))
    assert env_str("TOKEN") == "from-env"


def test_it_says_which_file_it_cannot_read(monkeypatch, tmp_path):
    monkeypatch.delenv("TOKEN", raising=False)
    monkeypatch.setenv("TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match=r"TOKEN_FILE=.*cannot be read"):
        env_str("TOKEN")


def test_it_refuses_a_url_without_scheme(monkeypatch):
    monkeypatch.setenv("PROMETHEUS_URL", "127.0.0.1:9090")
    with pytest.raises(ImproperlyConfigured, match="is not a URL"):
        env_url("PROMETHEUS_URL", "http://x")
    monkeypatch.setenv("PROMETHEUS_URL", "http://prom:9090/")
    assert env_url("PROMETHEUS_URL", "http://x") == "http://prom:9090"


def test_it_reads_replicas_comma_separated(monkeypatch):
    monkeypatch.setenv("PROMETHEUS_URL", " http://a:9090/ , HTTPS://b:9090")
    assert env_urls("PROMETHEUS_URL", "x") == "http://a:9090,HTTPS://b:9090"


@pytest.mark.parametrize(
    "raw",
    [
        " , ",
        "http://a:9090,",
        "http://a:9090 http://b:9090",
        "httpfoo://a:9090",
        "a:9090",
        "http://a:9090?query=up",
        "http://a:9090,http://a:9090",
    ],
)
def test_it_refuses_a_replica_list_it_cannot_use(monkeypatch, raw):
    monkeypatch.setenv("PROMETHEUS_URL", raw)
    with pytest.raises(ImproperlyConfigured, match="PROMETHEUS_URL"):
        env_urls("PROMETHEUS_URL", "x")
