"""The daily "Review overnight alerts and incidents" and weekly "Update runbooks based on
recent incidents" items link the incidents of their window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from checklists import actions, evidence
from checklists.choices import Cadence, Evidence
from checklists.evidence.result import Result
from incidents.choices import IncidentStatus
from incidents.models import Incident

pytestmark = pytest.mark.django_db


def _incident(title: str, opened_ago: timedelta, *, closed: bool = False) -> Incident:
    now = timezone.now()
    opened = now - opened_ago
    return Incident.objects.create(
        title=title,
        started_at=opened - timedelta(minutes=1),
        opened_at=opened,
        status=IncidentStatus.CLOSED if closed else IncidentStatus.OPEN,
        closed_at=opened + timedelta(minutes=12) if closed else None,
    )


@pytest.fixture
def incidents(templates):
    return {
        "tonight": _incident("Enterprise latency", timedelta(hours=3), closed=True),
        "this week": _incident("Disk filling", timedelta(days=3), closed=True),
        "long ago": _incident("Old outage", timedelta(days=20), closed=True),
        "still open": _incident("Redis memory", timedelta(days=2)),
    }


def _paths(result: Result) -> list[str]:
    return [path for _, path in result.links]


def test_it_links_the_night_s_incidents_and_those_still_open(incidents):
    result = evidence.overnight_alerts(timezone.now())
    assert _paths(result) == [
        f"/incidents/{incidents['tonight'].pk}",
        f"/incidents/{incidents['still open'].pk}",
    ]
    assert result.verdict == evidence.ATTENTION  # one is still open
    assert result.values["incidents"] == 2 and result.values["open_incidents"] == 1
    assert "closed after 13 min" in result.links[0][0]
    assert "still open" in result.links[1][0]


def test_it_links_the_week_s_incidents_for_the_runbook_review(incidents):
    result = evidence.recent_incidents(timezone.now())
    assert set(_paths(result)) == {
        f"/incidents/{incidents[k].pk}" for k in ("tonight", "this week", "still open")
    }
    assert result.summary.startswith("3 incident(s)")


def test_it_keeps_the_links_in_the_snapshot_and_shows_them_on_the_run(incidents, runs, sre_client):
    daily = runs[Cadence.DAILY]
    assert daily.items.filter(evidence=Evidence.OVERNIGHT_ALERTS).exists()
    actions.store_evidence(daily, evidence.gather(daily), actor=None)
    stored = Result.from_dict(
        daily.__class__.objects.get(pk=daily.pk).evidence["items"]["overnight_alerts"]
    )
    assert _paths(stored)[0] == f"/incidents/{incidents['tonight'].pk}"
    html = sre_client.get(f"/checklists/runs/{daily.pk}/").content.decode()
    assert f'href="/incidents/{incidents["tonight"].pk}"' in html
    assert "Incident" in html and "Enterprise latency" in html


def test_it_says_no_incidents_when_there_were_none(templates):
    result = evidence.overnight_alerts(timezone.now())
    assert result.links == ()
    assert "links" not in result.to_dict()
