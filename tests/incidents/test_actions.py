"""Incidents opened, joined and closed from the state changes a cycle writes, and by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from alerts.signals import states_changed
from core.choices import State
from incidents import actions
from incidents.choices import EventKind, IncidentStatus
from incidents.models import Incident, IncidentEvent
from tests.incidents.conftest import T0, change

pytestmark = pytest.mark.django_db


def test_it_opens_an_incident_when_a_check_goes_warning(enterprise):
    breach = change(enterprise, State.WARNING, T0)
    opened = actions.record_changes([breach], now=T0)
    assert len(opened) == 1
    incident = opened[0]
    assert incident.status == IncidentStatus.OPEN and incident.opened_by is None
    assert incident.started_at == T0 and incident.severity == "warning"
    assert list(incident.checks.all()) == [enterprise]
    assert incident.title.startswith("LeanVibeHighResponseTime")
    assert list(incident.events.values_list("kind", flat=True)) == [
        EventKind.OPENED,
        EventKind.JOINED,
    ]


def test_it_ignores_changes_that_are_not_breaches(enterprise):
    assert actions.record_changes([change(enterprise, State.PENDING, T0)], now=T0) == []
    assert actions.record_changes([change(enterprise, State.NO_DATA, T0)], now=T0) == []
    assert not Incident.objects.exists()


def test_it_joins_a_new_breach_of_the_same_check_and_raises_the_severity(enterprise):
    actions.record_changes([change(enterprise, State.WARNING, T0)], now=T0)
    later = T0 + timedelta(hours=1)
    assert actions.record_changes([change(enterprise, State.CRITICAL, later)], now=later) == []
    incident = Incident.objects.get()
    assert incident.severity == "critical" and incident.last_breach_at == later
    assert incident.members.count() == 1


def test_it_groups_another_alert_within_the_window_and_not_after(enterprise, errors, disk):
    actions.record_changes([change(enterprise, State.WARNING, T0)], now=T0)
    soon = T0 + timedelta(minutes=4)
    assert actions.record_changes([change(errors, State.CRITICAL, soon)], now=soon) == []
    incident = Incident.objects.get()
    assert set(incident.checks.all()) == {enterprise, errors}
    late = soon + timedelta(minutes=11)
    opened = actions.record_changes([change(disk, State.WARNING, late)], now=late)
    assert len(opened) == 1 and list(opened[0].checks.all()) == [disk]


def test_it_joins_another_series_of_the_same_alert_after_the_window(enterprise, team):
    actions.record_changes([change(enterprise, State.WARNING, T0)], now=T0)
    late = T0 + timedelta(hours=2)
    assert actions.record_changes([change(team, State.WARNING, late)], now=late) == []
    assert set(Incident.objects.get().checks.all()) == {enterprise, team}


def test_it_closes_by_itself_when_every_check_is_back_to_ok(enterprise, errors):
    actions.record_changes(
        [change(enterprise, State.WARNING, T0), change(errors, State.WARNING, T0)], now=T0
    )
    t1 = T0 + timedelta(minutes=3)
    actions.record_changes([change(enterprise, State.OK, t1)], now=t1)
    assert Incident.objects.get().status == IncidentStatus.OPEN
    t2 = T0 + timedelta(minutes=5)
    actions.record_changes([change(errors, State.OK, t2)], now=t2)
    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.CLOSED and incident.closed_at == t2
    assert incident.closed_by_itself
    assert incident.events.filter(kind=EventKind.CLOSED).count() == 1
    # a cycle without changes closes nothing twice
    actions.record_changes([], now=t2 + timedelta(minutes=1))
    assert IncidentEvent.objects.filter(kind=EventKind.CLOSED).count() == 1


def test_it_stays_open_while_a_check_has_no_data(enterprise):
    actions.record_changes([change(enterprise, State.CRITICAL, T0)], now=T0)
    t1 = T0 + timedelta(minutes=1)
    actions.record_changes([change(enterprise, State.NO_DATA, t1)], now=t1)
    assert Incident.objects.get().status == IncidentStatus.OPEN


def test_it_opens_a_new_incident_when_a_closed_one_s_check_breaches_again(enterprise):
    actions.record_changes([change(enterprise, State.WARNING, T0)], now=T0)
    t1 = T0 + timedelta(minutes=2)
    actions.record_changes([change(enterprise, State.OK, t1)], now=t1)
    t2 = T0 + timedelta(minutes=4)
    opened = actions.record_changes([change(enterprise, State.WARNING, t2)], now=t2)
    assert len(opened) == 1
    assert list(Incident.objects.values_list("status", flat=True)) == ["open", "closed"]


def test_it_records_a_breach_handed_over_twice_once(enterprise):
    breach = change(enterprise, State.WARNING, T0)
    actions.record_changes([breach], now=T0)
    actions.record_changes([breach], now=T0)
    assert Incident.objects.count() == 1
    assert IncidentEvent.objects.filter(kind=EventKind.JOINED).count() == 1


def test_it_listens_to_the_evaluation_cycle_s_signal(enterprise):
    breach = change(enterprise, State.CRITICAL, T0)
    states_changed.send(sender=None, changes=[breach])
    assert Incident.objects.get().severity == "critical"


def test_it_opens_by_hand_with_an_alert_s_breached_checks(sre, enterprise, team):
    change(enterprise, State.CRITICAL, T0)
    incident = actions.open_incident(
        "Customers report slow pages",
        actor=sre,
        alert=enterprise.threshold.alert,
        note="Acme called",
    )
    assert incident.opened_by == sre
    assert list(incident.checks.all()) == [enterprise]
    assert incident.started_at == T0
    assert incident.events.get(kind=EventKind.OPENED).text == "Acme called"
    # a later breach of the alert joins it
    t1 = T0 + timedelta(hours=3)
    assert actions.record_changes([change(team, State.WARNING, t1)], now=t1) == []
    assert incident.members.count() == 2


def test_it_keeps_an_incident_opened_by_hand_without_checks_open(sre, playbook):
    incident = actions.open_incident("Deploy gone wrong", actor=sre)
    actions.record_changes([], now=T0)
    incident.refresh_from_db()
    assert incident.is_open


def test_it_closes_by_hand_once_with_a_summary(sre, sre2, enterprise):
    actions.record_changes([change(enterprise, State.WARNING, T0)], now=T0)
    incident = Incident.objects.get()
    actions.close_incident(incident, "Scaled to 6; latency back under 200 ms.", actor=sre)
    incident.refresh_from_db()
    assert incident.closed_by == sre and incident.summary.startswith("Scaled")
    with pytest.raises(actions.IncidentClosed):
        actions.close_incident(incident, "me too", actor=sre2)
    assert incident.events.filter(kind=EventKind.CLOSED).count() == 1


def test_it_refuses_business_staff_every_write(business, enterprise):
    incident = Incident.objects.create(title="x", started_at=T0)
    with pytest.raises(PermissionDenied):
        actions.open_incident("x", actor=business)
    with pytest.raises(PermissionDenied):
        actions.add_note(incident, "x", actor=business)
    with pytest.raises(PermissionDenied):
        actions.close_incident(incident, "x", actor=business)
