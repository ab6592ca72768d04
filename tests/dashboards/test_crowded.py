"""The Kubernetes dashboard at 1,000 pods and 100 nodes against a real Prometheus: the pod
charts draw the ten worst pods and one "others" line that Prometheus folded the rest into,
named by pod, with the full list a click away; the tiles show the worst five and the counts."""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from django.core.cache import cache
from django.core.management import call_command

from alerts.cycle import evaluate_cycle
from tests.conftest import LARGE_NODES, LARGE_PODS

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def crowded(settings, large_demo):
    settings.PROMETHEUS_URL = large_demo.url
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    evaluate_cycle()


def figures(page: str) -> dict[str, dict]:
    return {
        key: json.loads(body)
        for key, body in re.findall(
            r'<script id="([a-z_]+)" type="application/json">(.*?)</script>', page, re.S
        )
    }


def drawn_board(client) -> tuple[bytes, str]:
    """The board once Prometheus holds a point of every chart on the 1 h range's 15 s grid
    (the fresh demo's first samples may fall after its last aligned step): waited for."""
    deadline = time.monotonic() + 90
    while True:
        cache.clear()  # the charts of a half-minute are shared: ask again
        body = client.get("/d/kubernetes-overview?range=1h").content
        if b"chart-empty" not in body or time.monotonic() > deadline:
            return body, body.decode()
        time.sleep(1)


def test_the_pod_charts_draw_the_worst_ten_and_fold_the_rest(crowded, sre_client):
    content, page = drawn_board(sre_client)
    assert "chart-empty" not in page
    assert len(content) < 500_000
    errors = re.findall(r"could not be fetched from Prometheus \(([^)]*)\)", page)
    assert not errors, errors
    charts = figures(page)
    for key in ("pod_cpu", "pod_memory"):
        figure = charts[key]
        lines = [t for t in figure["data"] if t.get("legendgroup") != "markers"]
        names = [t["name"] for t in lines]
        assert len(names) == 11 and names[-1].startswith(f"others ({LARGE_PODS + 2 - 10:,}")
        # named by the pod: the namespace they share is left out
        assert all("leanvibe-production" not in name for name in names)
        assert figure["layout"]["meta"] == {"series_total": LARGE_PODS + 2, "series_shown": 10}
        assert f"of {LARGE_PODS + 2:,} series are drawn" in page
    nodes = charts["node_cpu"]
    assert nodes["layout"]["meta"]["series_total"] == LARGE_NODES
    assert len([t for t in nodes["data"] if t.get("legendgroup") != "markers"]) == 11


def test_the_pod_tiles_show_the_worst_and_the_counts(crowded, sre_client):
    page = sre_client.get("/d/kubernetes-overview").content.decode()
    tile = page.split('data-panel="pod_cpu"')[1].split("</article>")[0]
    assert tile.count('data-testid="check"') == 5
    counts = re.search(r'data-testid="state-counts">(.*?)</p>', tile, re.S).group(1)
    shown = sum(int(n.replace(",", "")) for n in re.findall(r">([\d,]+) [a-z ]+<", counts))
    assert shown >= LARGE_PODS  # every check counted, a tile's worth of rows shown
    assert f"All {shown:,} checks" in tile
