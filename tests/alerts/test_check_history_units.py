"""A check's history speaks the units of the tiles: a latency in ms, its levels and the reason
of each change too ("236 ms > 200 ms"), a relative threshold in percent changes."""

from __future__ import annotations

import html
import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from alerts.models import Check, StateChange, Threshold
from core.choices import State

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"  # the page needs no answer
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115


def history_of(key: str, value: float, reason: str) -> Check:
    threshold = Threshold.objects.get(key=key)
    check = Check.objects.create(
        threshold=threshold, signature=key, labels={}, state=State.WARNING, value=value
    )
    StateChange.objects.create(
        check_obj=check,
        at=timezone.now() - timedelta(minutes=5),
        from_state=State.OK,
        to_state=State.WARNING,
        value=value,
        warning=threshold.warning,
        critical=threshold.critical,
        reason=reason,
    )
    return check


def page_of(client, check: Check) -> str:
    return html.unescape(
        client.get(reverse("alerts:check-history", args=[check.pk])).content.decode()
    )


def test_it_shows_a_latency_s_history_in_ms(loaded, sre_client):
    check = history_of("api_p95_latency.enterprise", 0.2357, "0.2357 > 0.2 (warning)")
    page = page_of(sre_client, check)
    assert 'warning <span data-testid="warning-level">200 ms</span>' in page
    assert 'critical <span data-testid="critical-level">500 ms</span>' in page
    assert "<td>236 ms</td>" in page
    assert "<td>200 ms / 500 ms</td>" in page
    assert "<td>236 ms > 200 ms (warning)</td>" in page
    for raw in ("0.200", "0.2357", "0.500", "0.2 ("):
        assert raw not in page


def test_it_shows_a_backup_age_s_history_as_durations(loaded, sre_client):
    check = history_of("backup_age", 98000.0, "9.8e+04 > 9.36e+04 (warning)")
    page = page_of(sre_client, check)
    assert "<td>26h / 50h</td>" in page
    assert "<td>27h13m > 26h (warning)</td>" in page
    assert "93600" not in page and "9.36e+04" not in page


def test_it_shows_a_relative_threshold_s_history_as_percent_changes(loaded, sre_client):
    check = history_of("mrr", -18.25, "-18.25 < -15 (critical)")
    page = page_of(sre_client, check)
    assert "<td>-18.2 %</td>" in page
    assert "<td>-5 % / -15 %</td>" in page
    assert "<td>-18.2 % < -15 % (critical)</td>" in page
