"""The grouping rule as a pure function: same check, same alert, the window, or a new one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incidents.grouping import GROUP_WINDOW, Breach, OpenIncident, place

T = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _open(pk: int, checks=(), alerts=(), last: datetime | None = T) -> OpenIncident:
    return OpenIncident(pk, frozenset(checks), frozenset(alerts), last)


def test_it_opens_a_new_incident_when_none_is_open():
    assert place(Breach(1, 10, T), []) is None


def test_it_keeps_a_check_in_the_incident_that_holds_it_however_old():
    old = _open(1, checks={7}, alerts={10}, last=T - timedelta(hours=5))
    recent = _open(2, checks={8}, alerts={11}, last=T)
    assert place(Breach(7, 10, T), [recent, old]) == 1


def test_it_joins_an_open_incident_of_the_same_alert_outside_the_window():
    incident = _open(3, checks={1}, alerts={10}, last=T - timedelta(hours=2))
    assert place(Breach(2, 10, T), [incident]) == 3


def test_it_joins_another_alert_s_incident_within_the_window():
    incident = _open(4, checks={1}, alerts={10}, last=T - GROUP_WINDOW)
    assert place(Breach(2, 20, T), [incident]) == 4


def test_it_opens_a_new_incident_for_another_alert_past_the_window():
    incident = _open(4, checks={1}, alerts={10}, last=T - GROUP_WINDOW - timedelta(seconds=1))
    assert place(Breach(2, 20, T), [incident]) is None


def test_it_prefers_the_incident_with_the_latest_breach():
    older = _open(5, alerts={10}, last=T - timedelta(minutes=8))
    newer = _open(6, alerts={11}, last=T - timedelta(minutes=1))
    assert place(Breach(2, 20, T), [older, newer]) == 6


def test_it_ignores_the_window_for_an_incident_with_no_breach_yet():
    by_hand = _open(7, last=None)
    assert place(Breach(2, 20, T), [by_hand]) is None
    assert place(Breach(2, 20, T), [_open(7, alerts={20}, last=None)]) == 7
