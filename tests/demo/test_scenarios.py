"""The scenario API (``/scenarios``) and CLI (``python -m demo scenario``)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from demo.scenarios import KINDS, ScenarioBook, ScenarioError
from tests.helpers import REPO


def call(method: str, url: str, body=None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_it_offers_every_scenario_of_the_architecture():
    assert set(KINDS) == {
        "latency_spike",
        "error_burst",
        "throughput_drop",
        "cpu_saturation",
        "memory_leak",
        "disk_fill",
        "neo4j_connection_surge",
        "neo4j_slow_queries",
        "cache_degraded",
        "redis_memory_pressure",
        "tenant_drop",
        "mrr_drop",
        "signup_drop",
        "backup_failed",
    }


def test_it_starts_lists_and_ends_a_scenario(workload_url):
    status, started = call(
        "POST",
        f"{workload_url}/scenarios",
        {"name": "latency_spike", "minutes": 5, "labels": {"tenant_tier": "enterprise"}},
    )
    assert status == 201
    assert started["name"] == "latency_spike"
    assert started["ends_at"] - started["started_at"] == pytest.approx(300)
    status, listing = call("GET", f"{workload_url}/scenarios")
    assert [s["id"] for s in listing["active"]] == [started["id"]]
    assert "latency_spike" in listing["available"]
    assert call("DELETE", f"{workload_url}/scenarios/{started['id']}") == (200, {"ended": 1})
    assert call("GET", f"{workload_url}/scenarios")[1]["active"] == []


def test_it_ends_all_scenarios_at_once(workload_url):
    for name in ("error_burst", "cache_degraded"):
        call("POST", f"{workload_url}/scenarios", {"name": name, "minutes": 1})
    assert call("DELETE", f"{workload_url}/scenarios") == (200, {"ended": 2})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "meteor_strike"}, "unknown scenario 'meteor_strike'; known: backup_failed"),
        ({"name": "error_burst", "minutes": 0}, "minutes must be between 0 and 1440"),
        ({"name": "error_burst", "minutes": "ten"}, "minutes must be a number"),
        ({"name": "error_burst", "labels": ["enterprise"]}, "labels must be an object"),
        (
            {"name": "backup_failed", "labels": {"tenant_tier": "team"}},
            "backup_failed cannot be scoped by tenant_tier; it takes no labels",
        ),
        (
            {"name": "latency_spike", "labels": {"pod": "x"}},
            "latency_spike cannot be scoped by pod; it takes tenant_tier, endpoint",
        ),
    ],
)
def test_it_refuses_a_bad_request_with_a_clear_message(workload_url, body, message):
    status, answer = call("POST", f"{workload_url}/scenarios", body)
    assert status == 400
    assert answer["error"].startswith(message)
    assert call("GET", f"{workload_url}/scenarios")[1]["active"] == []


def test_it_refuses_a_body_that_is_not_json(workload_url):
    status, answer = call("POST", f"{workload_url}/scenarios", raw=b"{name: latency")
    assert status == 400
    assert "not JSON" in answer["error"]


def test_it_answers_404_for_an_unknown_scenario_id(workload_url):
    assert call("DELETE", f"{workload_url}/scenarios/999")[0] == 404


def test_it_ends_a_scenario_by_itself():
    book = ScenarioBook()
    now = time.time()
    book.start("error_burst", 2, {}, now=now)
    assert len(book.active(now + 119)) == 1
    assert book.active(now + 120) == []


def test_it_validates_before_it_stores():
    book = ScenarioBook()
    with pytest.raises(ScenarioError):
        book.start("error_burst", -1, {}, now=time.time())
    assert book.active(time.time()) == []


def test_it_moves_the_metrics_at_the_next_scrape(workload_url):
    def enterprise_errors() -> float:
        with urllib.request.urlopen(f"{workload_url}/metrics") as response:
            text = response.read().decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("http_requests_total{")
            and 'status="500"' in line
            and 'tenant_tier="enterprise"' in line
        )

    call(
        "POST",
        f"{workload_url}/scenarios",
        {"name": "error_burst", "minutes": 1, "labels": {"tenant_tier": "enterprise"}},
    )
    before = enterprise_errors()
    time.sleep(1.5)
    # 12 % of the enterprise traffic (~190 req/s at least) is ~20 errors a second.
    assert enterprise_errors() - before > 10


def test_it_starts_a_scenario_from_the_command_line(workload_url):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "demo",
            "scenario",
            "latency_spike",
            "--minutes",
            "10",
            "--tier",
            "enterprise",
            "--url",
            workload_url,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["labels"] == {"tenant_tier": "enterprise"}
    listing = subprocess.run(
        [sys.executable, "-m", "demo", "scenarios", "--url", workload_url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(listing.stdout)["active"][0]["name"] == "latency_spike"


def test_it_says_so_when_the_cli_cannot_reach_the_workload():
    result = subprocess.run(
        [sys.executable, "-m", "demo", "scenarios", "--url", "http://127.0.0.1:9"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert "cannot reach the demo workload at http://127.0.0.1:9" in result.stderr
