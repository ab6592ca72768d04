"""The Prometheus client works against any Prometheus-compatible API: VictoriaMetrics."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import pytest

from integrations import prometheus
from integrations.prometheus import QueryFailure
from tests import services

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def victoria(tmp_path_factory) -> Iterator[str]:
    service = services.victoria_metrics(tmp_path_factory.mktemp("vm")).start()
    now_ms = int(time.time() * 1000)
    lines = []
    for minute in range(30, -1, -1):
        stamp = now_ms - minute * 60_000
        for tier, value in (("enterprise", 0.12), ("team", 0.3)):
            lines.append(f'demo_latency_seconds{{tenant_tier="{tier}"}} {value} {stamp}')
    request = urllib.request.Request(
        f"{service.url}/api/v1/import/prometheus", data="\n".join(lines).encode(), method="POST"
    )
    urllib.request.urlopen(request, timeout=10).close()
    urllib.request.urlopen(f"{service.url}/internal/force_flush", timeout=10).close()
    yield service.url
    service.stop()


def test_it_runs_instant_queries_against_victoria_metrics(victoria):
    result = prometheus.instant_query("max by (tenant_tier) (demo_latency_seconds)", url=victoria)
    assert result.is_ok
    assert {s.labels["tenant_tier"]: s.value for s in result.samples} == {
        "enterprise": 0.12,
        "team": 0.3,
    }


def test_it_runs_range_queries_against_victoria_metrics(victoria):
    end = time.time()
    result = prometheus.range_query(
        'demo_latency_seconds{tenant_tier="team"}', end - 1800, end, 60, url=victoria
    )
    assert result.is_ok
    assert len(result.series) == 1 and len(result.series[0].points) >= 20


def test_it_reports_a_rejected_query_from_victoria_metrics(victoria):
    result = prometheus.instant_query("sum(", url=victoria)
    assert result.failure == QueryFailure.REJECTED
    assert result.reason
