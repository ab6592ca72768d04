from __future__ import annotations

from tests.helpers import REPO, clean_env, read_env_file, run_manage


def _production_env(tmp_path) -> dict[str, str]:
    values = read_env_file(REPO / "deploy" / "production.env.example")
    secret = tmp_path / "secret_key"
    secret.write_text("p" * 20 + "-a-long-random-production-secret-key-with-entropy-9f8e7d6c")
    values["SECRET_KEY_FILE"] = str(secret)
    token = tmp_path / "token"
    token.write_text("webhook-token")
    values["ALERTMANAGER_WEBHOOK_TOKEN_FILE"] = str(token)
    return clean_env(**values)


def test_it_passes_check_deploy_with_the_documented_production_environment(tmp_path):
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env=_production_env(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key_in_production(tmp_path):
    env = _production_env(tmp_path)
    del env["SECRET_KEY_FILE"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set" in result.stderr


def test_it_starts_with_a_development_key_only_when_debug_is_on():
    result = run_manage("check", env=clean_env(DEBUG="1"))
    assert result.returncode == 0, result.stderr


def test_it_refuses_a_wildcard_host_outside_development(tmp_path):
    env = _production_env(tmp_path)
    env["ALLOWED_HOSTS"] = "*"
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS may not contain '*'" in result.stderr


def test_it_refuses_a_debug_value_it_cannot_read(tmp_path):
    env = _production_env(tmp_path)
    env["DEBUG"] = "Flase"
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "DEBUG='Flase' is not a boolean" in result.stderr


def test_it_refuses_a_database_url_it_cannot_parse(tmp_path):
    env = _production_env(tmp_path)
    env["DATABASE_URL"] = "mongodb://somewhere/db"
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
