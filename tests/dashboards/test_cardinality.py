"""Tiles at real cardinality: a check per pod shows the worst few and the counts by state, the
rest a click away in a filterable, paginated table; the same number of queries at 1,000 pods
as at 5."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.cycle import signature
from alerts.models import Check, Threshold
from core.choices import State

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115


def pods(count: int, critical: int = 3, warning: int = 2, stale: int = 0) -> None:
    threshold = Threshold.objects.get(key="pod_cpu")
    now = timezone.now()
    rows = []
    for i in range(count):
        state = (
            State.CRITICAL
            if i < critical
            else State.WARNING
            if i < critical + warning
            else State.OK
        )
        labels = {"namespace": "leanvibe-production", "pod": f"leanvibe-backend-{i:04d}"}
        rows.append(
            Check(
                threshold=threshold,
                labels=labels,
                signature=signature("pod_cpu", labels),
                state=state,
                value=99 - i * 0.01 if state != State.OK else 40 + (i % 50) / 10,
                reason="test",
                since=now - timedelta(minutes=5),
                evaluated_at=now - timedelta(seconds=600 if i >= count - stale else 5),
            )
        )
    Check.objects.bulk_create(rows)


def test_a_tile_at_1000_pods_shows_the_worst_and_the_counts(loaded, sre_client):
    pods(1000, stale=4)
    page = sre_client.get("/d/kubernetes-overview").content.decode()
    tile = page.split('data-panel="pod_cpu"')[1].split("</article>")[0]
    assert tile.count('data-testid="check"') == 5
    # the counts, worst first, with every check counted once
    assert "3 critical" in tile and "2 warning" in tile and "991 ok" in tile and "4 stale" in tile
    # the worst first, named by the label that differs (the pod), not the shared namespace
    first = tile.split('data-testid="check"')[1]
    assert 'data-state="critical"' in first and "leanvibe-backend-0000" in first
    assert '<span class="scope">leanvibe-backend-0000</span>' in first
    assert "All 1,000 checks" in tile and 'href="/d/kubernetes-overview/pod_cpu"' in tile


@pytest.mark.parametrize("count", [5, 1000])
def test_the_dashboard_costs_the_same_queries_at_5_and_1000_pods(
    loaded, sre_client, count, django_assert_num_queries
):
    pods(count)
    with django_assert_num_queries(21):
        sre_client.get("/d/kubernetes-overview")


def test_a_few_checks_are_listed_without_a_summary(loaded, sre_client):
    pods(4, critical=1, warning=0)
    tile = (
        sre_client.get("/d/kubernetes-overview")
        .content.decode()
        .split('data-panel="pod_cpu"')[1]
        .split("</article>")[0]
    )
    assert tile.count('data-testid="check"') == 4 and "state-counts" not in tile


def test_the_label_search_reads_values_not_label_names(loaded, sre_client):
    pods(30)
    page = sre_client.get("/d/kubernetes-overview/pod_cpu?q=pod").content.decode()
    assert "0 of 0" in page  # "pod" is every check's label name, no pod's name
    page = sre_client.get("/d/kubernetes-overview/pod_cpu?q=BACKEND-001&per_page=30").content
    assert "1–10 of 10" in page.decode()  # noqa: RUF001 - the pager's en dash
    assert "option selected>30<" in page.decode()


def test_the_table_filters_by_state_and_label_a_page_at_a_time(loaded, sre_client):
    pods(1000)
    page = sre_client.get("/d/kubernetes-overview/pod_cpu?state=critical").content.decode()
    assert page.count('data-state="critical"') == 3 and 'data-state="ok"' not in page
    page = sre_client.get("/d/kubernetes-overview/pod_cpu?q=backend-099&per_page=5").content
    page = page.decode()
    assert "1–5 of 10" in page  # noqa: RUF001 - the pager's en dash; backend-0990 to 0999
    page = sre_client.get("/d/kubernetes-overview/pod_cpu?page=3&per_page=100").content.decode()
    assert "201–300 of 1,000" in page  # noqa: RUF001


@pytest.mark.parametrize(
    "query",
    ["state=melting", "per_page=1000000", "page=-1", "q=" + "x" * 101],
)
def test_the_table_refuses_bad_filters_saying_why(loaded, sre_client, query):
    response = sre_client.get(f"/d/kubernetes-overview/pod_cpu?{query}")
    assert response.status_code == 400
    assert 'data-testid="form-errors"' in response.content.decode()


def test_the_table_refuses_what_the_dashboard_refuses(loaded, business_client, sre_client):
    assert business_client.get("/d/kubernetes-overview/pod_cpu").status_code == 403
    assert sre_client.get("/d/kubernetes-overview/mrr").status_code == 404
    assert sre_client.get("/d/no-such-board/pod_cpu").status_code == 404
