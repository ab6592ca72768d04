"""The timeline reads every source by relation and window, and the four durations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.choices import State
from firing.models import Acknowledgement, SilenceAudit
from incidents import actions, timeline
from incidents.models import Incident
from notifications.models import Notification, NotificationChannel
from runbooks.models import ActionRun
from tests.factories import make_firing_alert
from tests.incidents.conftest import T0, change

pytestmark = pytest.mark.django_db


def _run(user, at, *, kind="k8s_scale", status="succeeded", dry_run=False, name=None):
    return ActionRun.objects.create(
        runbook_name=name or "LeanVibeHighResponseTime",
        action_label="Scale leanvibe-backend to 6 replicas",
        kind=kind,
        parameters={"replicas": 6},
        dry_run=dry_run,
        status=status,
        requested_by=user,
        requested_at=at,
        started_at=at,
        finished_at=at + timedelta(seconds=20),
    )


@pytest.fixture
def incident(enterprise, sre, sre2) -> Incident:
    """Pending at T0 - 1 min, critical at T0, a scale run, an ack, a silence, a message, the
    recovery at T0 + 9 min; and records of other alerts and other times that must stay out."""
    change(enterprise, State.PENDING, T0 - timedelta(minutes=1))
    breach = change(enterprise, State.CRITICAL, T0)
    actions.record_changes([breach], now=T0 + timedelta(seconds=5))
    alert = make_firing_alert(starts_at=T0 - timedelta(seconds=30))
    make_firing_alert("HighCPUUsage", starts_at=T0)  # another alert: not in this incident
    make_firing_alert(starts_at=T0 - timedelta(days=2), ends_at=T0 - timedelta(days=2))
    Acknowledgement.objects.create(
        alert=alert, actor=sre, comment="on it", at=T0 + timedelta(minutes=2)
    )
    SilenceAudit.objects.create(
        silence_id="s1",
        action="created",
        actor=sre,
        matchers=['alertname="LeanVibeHighResponseTime"', 'tenant_tier="enterprise"'],
        comment="while scaling",
        at=T0 + timedelta(minutes=3),
    )
    SilenceAudit.objects.create(
        silence_id="s2",
        action="created",
        actor=sre,
        matchers=['alertname="HighCPUUsage"'],
        at=T0 + timedelta(minutes=3),
    )
    _run(sre, T0 + timedelta(minutes=3), kind="prometheus_query", status="succeeded")
    _run(sre, T0 + timedelta(minutes=4), dry_run=True)
    _run(sre, T0 + timedelta(minutes=5), status="failed")
    _run(sre, T0 + timedelta(minutes=6))
    _run(sre, T0 + timedelta(minutes=6), name="HighCPUUsage")
    channel = NotificationChannel.objects.create(name="sre-mail", kind="email", target="a@b.c")
    Notification.objects.create(
        channel=channel,
        state_change=breach,
        subject="[CRITICAL] enterprise p95",
        body="...",
        sent_at=T0 + timedelta(seconds=10),
        is_delivered=True,
    )
    t_ok = T0 + timedelta(minutes=9)
    actions.record_changes([change(enterprise, State.OK, t_ok)], now=t_ok)
    return Incident.objects.get()


def test_it_gathers_every_source_of_the_incident_in_order(incident):
    line = timeline.build(incident)
    sources = [e.source for e in line.entries]
    assert sources.count("state") == 3  # pending, critical, ok
    assert sources.count("ack") == 1
    assert sources.count("silence") == 1
    assert sources.count("notification") == 1
    texts = " ".join(e.text for e in line.entries)
    assert "HighCPUUsage" not in texts
    assert [e.at for e in line.entries] == sorted(e.at for e in line.entries)
    assert line.entries[-1].text == "Closed by itself"
    runs = [e for e in line.entries if e.source == "run"]
    assert len(runs) == 8  # four runs of this alert: requested and finished each


def test_it_measures_each_duration_from_the_first_sign(incident):
    d = timeline.build(incident).durations
    assert d.first_sign == T0 - timedelta(minutes=1)  # the pending change
    assert d.detect == timedelta(minutes=1, seconds=5)
    assert d.acknowledge == timedelta(minutes=3)
    # the first successful change that was not a dry run: the scale at +6 min, done 20 s later
    assert d.mitigate == timedelta(minutes=7, seconds=20)
    assert d.resolve == timedelta(minutes=10)


def test_it_says_what_has_not_happened_yet(enterprise):
    actions.record_changes([change(enterprise, State.WARNING, T0)], now=T0)
    d = timeline.build(Incident.objects.get(), now=T0 + timedelta(minutes=1)).durations
    assert d.detect == timedelta(0)
    assert d.acknowledge is None and d.mitigate is None and d.resolve is None


def test_it_cuts_a_source_at_its_limit(enterprise, monkeypatch):
    monkeypatch.setattr(timeline, "LIMIT", 3)
    actions.record_changes([change(enterprise, State.WARNING, T0)], now=T0)
    for minute in range(1, 6):
        at = T0 + timedelta(minutes=minute)
        change(enterprise, State.CRITICAL if minute % 2 else State.WARNING, at)
    line = timeline.build(Incident.objects.get(), now=T0 + timedelta(minutes=7))
    assert line.cut == ["state changes"]
    assert sum(1 for e in line.entries if e.source == "state") == 3


def test_it_reads_the_incident_page_in_a_fixed_number_of_queries(
    incident, sre, sre_client, django_assert_num_queries
):
    # session, user, the user's and the groups' permissions, the incident, its checks, its
    # alerts' names, its events, and one query per source (state changes, alerts, their
    # acknowledgements, silences, runs, notifications), the banner's two heartbeats and the
    # navigation's two counts: none per entry.
    url = f"/incidents/{incident.pk}"
    with django_assert_num_queries(18) as first:
        assert sre_client.get(url).status_code == 200
    for minute in range(10):
        _run(sre, T0 + timedelta(minutes=minute, seconds=30))
        actions.add_note(incident, f"note {minute}", actor=sre)
    with django_assert_num_queries(len(first.captured_queries)):
        html = sre_client.get(url).content.decode()
    assert "note 9" in html


def test_it_shows_incidents_in_the_admin_read_only(incident, admin_client):
    assert admin_client.get("/admin/incidents/incident/").status_code == 200
    change = admin_client.get(f"/admin/incidents/incident/{incident.pk}/change/")
    assert change.status_code == 200
    assert "Closed by the panel" in change.content.decode()
