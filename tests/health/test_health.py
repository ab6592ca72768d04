from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from health import checks as health
from health.models import Heartbeat
from tests.helpers import clean_env, run_python
from tests.services import free_port


@pytest.fixture
def prometheus_at(settings, prometheus_server):
    settings.PROMETHEUS_URL = prometheus_server.url
    return prometheus_server


@pytest.fixture
def prometheus_down(settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"


@pytest.mark.django_db
def test_it_answers_health_without_login_and_reports_every_dependency(client, prometheus_at):
    health.record_heartbeat()
    health.record_heartbeat(health.EVALUATION_HEARTBEAT)
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["is_ok"] is True
    assert body["celery_beat"]["is_ok"] is True
    assert body["prometheus"] == {
        "is_reachable": True,
        "url": prometheus_at.url,
        "latency_ms": body["prometheus"]["latency_ms"],
        "error": None,
        "replicas_down": [],
    }


@pytest.mark.django_db
def test_it_says_degraded_when_prometheus_does_not_answer(client, prometheus_down):
    health.record_heartbeat()
    body = client.get("/health").json()
    assert body["status"] == "degraded"
    assert body["prometheus"]["is_reachable"] is False
    assert "connection refused" in body["prometheus"]["error"]


@pytest.mark.django_db
def test_it_says_degraded_before_the_first_heartbeat(client, prometheus_at):
    body = client.get("/health").json()
    assert body["status"] == "degraded"
    assert body["celery_beat"] == {
        "is_ok": False,
        "last_heartbeat": None,
        "age_seconds": None,
        "interval_seconds": 30,
        "reason": "no heartbeat recorded yet",
    }


@pytest.mark.django_db
def test_it_calls_a_heartbeat_stale_after_three_intervals(client, prometheus_at):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        health.record_heartbeat()
        traveller.shift(timedelta(seconds=89))
        assert client.get("/health").json()["celery_beat"]["is_ok"] is True
        traveller.shift(timedelta(seconds=2))
        beat = client.get("/health").json()["celery_beat"]
    assert beat["is_ok"] is False
    assert beat["reason"] == "last heartbeat 91s ago (expected every 30s)"


@pytest.mark.django_db
def test_it_records_the_heartbeat_in_one_row(client):
    health.record_heartbeat()
    health.record_heartbeat()
    assert Heartbeat.objects.count() == 1


@pytest.mark.django_db
def test_it_times_a_database_round_trip(client):
    response = client.get("/health/db")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["round_trip_ms"] >= 0
    assert body["vendor"] in {"sqlite", "postgresql"}


def test_it_answers_503_with_the_reason_when_the_database_is_unreachable():
    closed = free_port()
    code = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/health/db')\n"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))\n"
    )
    env = clean_env(
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="controlpanel.settings",
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed}/controlpanel",
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["status"] == "error"
    assert "Connection refused" in answer["body"]["reason"] or "connect" in answer["body"]["reason"]


@pytest.mark.django_db
def test_it_serves_its_own_metrics_with_request_counts_and_latencies(client, prometheus_at):
    client.get("/health")
    client.get("/health")
    text = client.get("/metrics").content.decode()
    assert 'controlpanel_http_requests_total{method="GET",status="200",view="health"}' in text
    assert (
        'controlpanel_http_request_duration_seconds_bucket{le="0.005",method="GET",view="health"}'
        in text
    )
    assert "controlpanel_prometheus_reachable 1.0" in text
    assert "controlpanel_beat_heartbeat_age_seconds" in text


@pytest.mark.django_db
def test_it_labels_unknown_paths_without_a_series_per_path(client):
    # letters, not digits: "12345" once turned up inside a float timestamp of the output
    client.get("/no/such/page/zqxjk")
    text = client.get("/metrics").content.decode()
    assert "zqxjk" not in text


@pytest.mark.django_db
def test_it_reports_evaluation_lag_on_health_metrics_and_the_banner(
    client, sre_client, prometheus_at, settings
):
    settings.EVALUATION_INTERVAL = 15
    health.record_heartbeat()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        health.record_heartbeat(health.EVALUATION_HEARTBEAT)
        assert client.get("/health").json()["evaluation"]["is_ok"] is True
        traveller.shift(timedelta(seconds=50))
        evaluation = client.get("/health").json()["evaluation"]
        assert evaluation["is_ok"] is False
        assert evaluation["reason"] == "last evaluation 50s ago (expected every 15s)"
        assert "controlpanel_evaluation_lag_seconds 50.0" in client.get("/metrics").content.decode()
        page = sre_client.get("/").content.decode()
    assert "Threshold evaluation: last evaluation 50s ago" in page
