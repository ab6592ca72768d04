"""The four dashboards: tiles from stored states (a fixed number of database queries, no
Prometheus round trip), stale checks never in their old colour, htmx refreshes the tiles."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from alerts.models import Check, StateChange, Threshold
from core.choices import State
from dashboards.views import _state_bands, _tiles
from metrics.models import Dashboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"  # charts say error; tiles need no Prometheus
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115


def make_check(key: str, labels: dict, state: str, value: float, age: float = 5) -> Check:
    threshold = Threshold.objects.get(key=key)
    now = timezone.now()
    return Check.objects.create(
        threshold=threshold,
        labels=labels,
        signature=f"{key}{labels}",
        state=state,
        value=value,
        reason="test",
        since=now - timedelta(minutes=3),
        evaluated_at=now - timedelta(seconds=age),
    )


def test_it_shows_each_state_in_words_with_value_and_unit(loaded, sre_client):
    make_check("api_p95_latency.enterprise", {"tenant_tier": "enterprise"}, State.WARNING, 0.31)
    make_check("api_error_rate", {}, State.OK, 0.15)
    page = sre_client.get("/d/leanvibe-overview").content.decode()
    assert 'data-state="warning"' in page and ">Warning<" in page
    assert "310 ms" in page
    assert "0.1 %" in page or "0.2 %" in page


def test_it_shows_a_stale_check_as_stale_never_in_its_old_colour(loaded, sre_client, settings):
    settings.EVALUATION_INTERVAL = 15
    # Frozen: the page recomputes the age and rounds it, so half a second between creating
    # the check and rendering the page would show "61 s".
    with time_machine.travel(timezone.now(), tick=False):
        make_check("api_error_rate", {}, State.OK, 0.15, age=60)
        page = sre_client.get("/d/leanvibe-overview").content.decode()
    assert 'data-state="stale"' in page
    assert 'data-state="ok"' not in page
    assert "not evaluated for 60 s" in page


def test_it_says_why_a_chart_is_missing(loaded, sre_client):
    page = sre_client.get("/d/leanvibe-overview").content.decode()
    assert "unreachable: connection refused" in page


def test_a_live_refresh_gets_the_board_and_the_navigation(
    loaded, sre_client, django_assert_num_queries
):
    for i in range(5):
        make_check("pod_cpu", {"pod": f"p{i}"}, State.OK, 40)
    # the page's twenty-one (below): every live region of it is refreshed by the one request
    with django_assert_num_queries(21):
        response = sre_client.get("/d/kubernetes-overview", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    for region in ('id="board" data-live', 'id="nav-counts"', 'id="health" data-live'):
        assert region in body
    assert 'data-live-url="/d/kubernetes-overview"' in body


@pytest.mark.parametrize("checks", [3, 40])
def test_it_keeps_the_query_count_flat_as_checks_grow(
    loaded, sre_client, checks, django_assert_num_queries
):
    for i in range(checks):
        make_check("pod_cpu", {"pod": f"p{i}"}, State.OK, 40)
    # the tiles' ten (their checks counted by state and the worst few listed), two for the
    # state history behind the charts' bands (changes in the range, checks in breach now),
    # the navigation's two counts (firing alerts by severity, runs to approve), and six for
    # the charts' markers (thresholds, changes of state, edits, runs, acknowledgements,
    # silences)
    with django_assert_num_queries(21):
        sre_client.get("/d/kubernetes-overview")


def test_it_accepts_only_the_known_time_ranges(loaded, sre_client):
    page = sre_client.get("/d/leanvibe-overview?range=1y").content.decode()
    assert 'href="?range=6h" aria-current="true"' in page


def test_it_draws_state_bands_from_the_stored_history(loaded):
    check = make_check("api_error_rate", {}, State.OK, 0.15)
    now = timezone.now()
    for minutes_ago, before, after in (
        (50, "ok", "warning"),
        (40, "warning", "critical"),
        (30, "critical", "ok"),
    ):
        StateChange.objects.create(
            check_obj=check,
            at=now - timedelta(minutes=minutes_ago),
            from_state=before,
            to_state=after,
            warning=1,
            critical=5,
            reason="test",
        )
    tiles = _tiles(list(Dashboard.objects.get(slug="leanvibe-overview").panels.all()))
    start = (now - timedelta(hours=1)).timestamp()
    bands = _state_bands(tiles, start, now.timestamp())[check.threshold.metric_id]
    assert [(level, round((end - begin) / 60)) for level, begin, end in bands] == [
        ("warning", 10),
        ("critical", 10),
    ]
