"""One evaluation cycle at 1,000 backend pods and 100 nodes (DEMO_PODS, DEMO_NODES), against
a real Prometheus scraping the demo: a check per pod and per node, stored in bulk, with
Prometheus asked each distinct question once."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest
from django.core.management import call_command

from alerts.cycle import evaluate_cycle
from alerts.models import Check, StateChange, Threshold
from core.choices import State
from tests import services

pytestmark = [pytest.mark.services, pytest.mark.django_db]

PODS, NODES = 1000, 100
# Redis and Neo4j run one pod each beside the backend's.
ALL_PODS = PODS + 2


def _value(prometheus: services.Service, expr: str) -> float:
    url = f"{prometheus.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        result = json.load(response)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


@pytest.fixture
def loaded(settings, large_demo: services.Service) -> None:
    settings.PROMETHEUS_URL = large_demo.url
    call_command("load_playbook", stdout=open("/dev/null", "w"))  # noqa: SIM115


def _checks_of(metric: str) -> int:
    return Check.objects.filter(threshold__metric__key=metric).count()


def test_it_judges_every_pod_and_every_node_once(loaded):
    thresholds = {
        m: Threshold.objects.filter(metric__key=m).count()
        for m in ("pod_cpu", "pod_memory", "node_cpu", "node_memory", "disk_usage")
    }
    first = evaluate_cycle()
    assert _checks_of("pod_cpu") == ALL_PODS * thresholds["pod_cpu"]
    assert _checks_of("pod_memory") == ALL_PODS * thresholds["pod_memory"]
    assert _checks_of("node_cpu") == NODES * thresholds["node_cpu"]
    assert _checks_of("node_memory") == NODES * thresholds["node_memory"]
    assert _checks_of("disk_usage") == NODES * thresholds["disk_usage"]
    assert first.checks == Check.objects.count()
    # Every new check's first state is a change; each distinct query was asked once.
    assert first.changes == StateChange.objects.count() == first.checks
    assert first.queries <= 2 * Threshold.objects.count()
    backend = [
        c.state
        for c in Check.objects.filter(threshold__metric__key="pod_memory")
        if c.labels["pod"].startswith("leanvibe-backend-")
    ]
    assert backend.count(State.OK) == PODS * thresholds["pod_memory"]  # baseline: all fine

    second = evaluate_cycle()
    # The same checks again, updated in place: no new rows, no change without a cause.
    assert second.checks == first.checks == Check.objects.count()
    assert StateChange.objects.count() == first.changes + second.changes
    assert second.changes < 20


def test_it_counts_every_check_in_api_status_and_lists_those_asked_for(loaded, admin_client):
    evaluate_cycle()
    total = Check.objects.count()
    body = admin_client.get("/api/status").json()
    assert len(body["checks"]) == body["counts"]["total"] == total  # every check, as ever
    assert sum(body["counts"][s] for s in State.values) == total
    assert body["counts"]["ok"] >= 2 * PODS
    ok = admin_client.get("/api/status", {"state": "ok"}).json()
    assert len(ok["checks"]) == ok["counts"]["ok"] and ok["counts"]["total"] == total
    assert {c["state"] for c in ok["checks"]} == {"ok"}
    trouble = admin_client.get("/api/status", {"state": ["critical", "error"]}).json()
    assert len(trouble["checks"]) == trouble["counts"]["critical"] + trouble["counts"]["error"]
    refused = admin_client.get("/api/status", {"state": "broken"})
    assert refused.status_code == 400
    assert "state must be one of: ok, pending" in refused.json()["error"]
