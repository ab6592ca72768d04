"""Every write of the incidents app: opened by a breach or by hand, checks joined, notes,
closed by hand or by itself. Each is atomic and writes an ``IncidentEvent`` (the audit row);
``actor`` is the person, or None for the panel itself (the evaluation cycle's receiver)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, Check, StateChange
from core import permissions
from core.choices import Severity, State, badness_rank
from incidents import grouping
from incidents.choices import EventKind, IncidentStatus
from incidents.models import TITLE_LENGTH, Incident, IncidentCheck, IncidentEvent

NOTE_LENGTH = 4000
SUMMARY_LENGTH = 4000


class IncidentClosed(Exception):
    """The incident was closed meanwhile (by someone else, or by itself)."""


def _require(actor: Any) -> None:
    if not permissions.has(actor, permissions.RUN_ACTIONS):
        raise PermissionDenied("Your role cannot open, note or close incidents.")


def _labels_text(labels: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _title(check: Check) -> str:
    alert = check.threshold.alert
    labels = _labels_text(check.labels)
    title = f"{alert.name}: {alert.summary}" + (f" ({labels})" if labels else "")
    return title[:TITLE_LENGTH]


def _worse(a: str, b: str) -> str:
    return a if badness_rank(a) <= badness_rank(b) else b


def _open_view(incident: Incident, checks: set[int], alerts: set[int]) -> grouping.OpenIncident:
    return grouping.OpenIncident(
        incident.pk, frozenset(checks), frozenset(alerts), incident.last_breach_at
    )


@transaction.atomic
def record_changes(
    changes: Sequence[StateChange], *, now: datetime | None = None
) -> list[Incident]:
    """What a cycle's changes do to incidents: each breach (into warning or critical) joins an
    open incident or opens one (``incidents.grouping.place``); then every open incident whose
    checks are all back to ok closes by itself. Returns the incidents opened.

    The open incidents are read under ``select_for_update`` (PostgreSQL): two cycles finishing
    at once wait for each other rather than both opening an incident for one breach (trust rule
    13). A breach already recorded (the same change handed over twice) changes nothing."""
    now = now or timezone.now()
    breaches = sorted(
        (c for c in changes if c.to_state in State.BREACHED and c.pk is not None),
        key=lambda c: (c.at, c.pk),
    )
    opened: list[Incident] = []
    if breaches:
        checks = Check.objects.select_related("threshold__alert").in_bulk(
            {c.check_obj_id for c in breaches}
        )
        incidents = {
            i.pk: i
            for i in Incident.objects.select_for_update()
            .filter(status=IncidentStatus.OPEN)
            .order_by("pk")
        }
        members: dict[int, set[int]] = {pk: set() for pk in incidents}
        for incident_id, check_id in IncidentCheck.objects.filter(
            incident__in=incidents
        ).values_list("incident_id", "check_obj_id"):
            members[incident_id].add(check_id)
        alerts: dict[int, set[int]] = {pk: set() for pk in incidents}
        for incident_id, alert_id in Incident.alerts.through.objects.filter(
            incident_id__in=incidents
        ).values_list("incident_id", "alert_id"):
            alerts[incident_id].add(alert_id)
        seen = set(
            IncidentCheck.objects.filter(state_change_id__in=[c.pk for c in breaches]).values_list(
                "state_change_id", flat=True
            )
        )
        for change in breaches:
            check = checks.get(change.check_obj_id)
            if check is None or change.pk in seen:
                continue
            alert_id = check.threshold.alert_id
            views = [_open_view(incidents[pk], members[pk], alerts[pk]) for pk in incidents]
            pk = grouping.place(grouping.Breach(check.pk, alert_id, change.at), views)
            if pk is None:
                incident = Incident.objects.create(
                    title=_title(check),
                    severity=Severity.CRITICAL
                    if change.to_state == State.CRITICAL
                    else Severity.WARNING,
                    started_at=change.at,
                    opened_at=now,
                    last_breach_at=change.at,
                )
                IncidentEvent.objects.create(
                    incident=incident,
                    kind=EventKind.OPENED,
                    text=f"Opened by the panel: {check.signature} went {change.to_state}.",
                    at=now,
                )
                incidents[incident.pk], members[incident.pk] = incident, set()
                alerts[incident.pk] = set()
                opened.append(incident)
            else:
                incident = incidents[pk]
            _join(incident, check, change, now, members[incident.pk], alerts[incident.pk])
    close_recovered(now=now)
    return opened


def _join(
    incident: Incident,
    check: Check,
    change: StateChange,
    now: datetime,
    members: set[int],
    alerts: set[int],
) -> None:
    severity = _worse(change.to_state, incident.severity)
    last = max(incident.last_breach_at or change.at, change.at)
    if check.pk not in members:
        IncidentCheck.objects.create(
            incident=incident, check_obj=check, joined_at=change.at, state_change=change
        )
        members.add(check.pk)
        IncidentEvent.objects.create(
            incident=incident,
            kind=EventKind.JOINED,
            text=f"{check.signature} went {change.to_state}: {change.reason}",
            at=now,
        )
    if check.threshold.alert_id not in alerts:
        incident.alerts.add(check.threshold.alert_id)
        alerts.add(check.threshold.alert_id)
    if severity != incident.severity or last != incident.last_breach_at:
        incident.severity, incident.last_breach_at = severity, last
        Incident.objects.filter(pk=incident.pk).update(severity=severity, last_breach_at=last)


def close_recovered(*, now: datetime | None = None) -> list[int]:
    """Close, by itself, every open incident that has checks and whose checks are all ok. A
    check in ``no_data`` or ``error`` keeps it open: missing data is not a recovery (trust rules
    1 and 3). An incident opened by hand without checks waits for a person to close it."""
    now = now or timezone.now()
    open_ids = set(
        Incident.objects.filter(status=IncidentStatus.OPEN, members__isnull=False).values_list(
            "pk", flat=True
        )
    )
    if not open_ids:
        return []
    not_ok = set(
        IncidentCheck.objects.filter(incident_id__in=open_ids)
        .exclude(check_obj__state=State.OK)
        .values_list("incident_id", flat=True)
    )
    closed = []
    for pk in sorted(open_ids - not_ok):
        with transaction.atomic():
            # Claimed by a conditional update: a person closing it at the same moment wins or
            # loses whole, and the event is written once.
            if Incident.objects.filter(pk=pk, status=IncidentStatus.OPEN).update(
                status=IncidentStatus.CLOSED, closed_at=now, closed_by=None
            ):
                IncidentEvent.objects.create(
                    incident_id=pk,
                    kind=EventKind.CLOSED,
                    text="Closed by the panel: every check in it is back to ok.",
                    at=now,
                )
                closed.append(pk)
    return closed


@transaction.atomic
def open_incident(
    title: str, *, actor: Any, alert: Alert | None = None, note: str = ""
) -> Incident:
    """An incident opened by hand. Given an alert, its checks in warning or critical now join
    at once, and later breaches of the alert join it (``grouping``)."""
    _require(actor)
    now = timezone.now()
    incident = Incident.objects.create(
        title=title[:TITLE_LENGTH], started_at=now, opened_at=now, opened_by=actor
    )
    IncidentEvent.objects.create(
        incident=incident, kind=EventKind.OPENED, actor=actor, text=note[:NOTE_LENGTH], at=now
    )
    if alert is not None:
        incident.alerts.add(alert)
        breached = Check.objects.filter(
            threshold__alert=alert, state__in=State.BREACHED
        ).select_related("threshold__alert")
        members: set[int] = set()
        alerts = {alert.pk}
        for check in breached:
            change = check.changes.order_by("-at", "-pk").first()
            if change is not None:
                _join(incident, check, change, now, members, alerts)
        if members:
            first = (
                StateChange.objects.filter(check_obj_id__in=members, to_state__in=State.BREACHED)
                .order_by("at")
                .values_list("at", flat=True)
                .first()
            )
            if first is not None and first < incident.started_at:
                incident.started_at = first
                incident.save(update_fields=["started_at"])
    return incident


@transaction.atomic
def add_note(incident: Incident, text: str, *, actor: Any) -> IncidentEvent:
    """A note on the timeline, open or closed (a postmortem finding is a note too)."""
    _require(actor)
    return IncidentEvent.objects.create(
        incident=incident, kind=EventKind.NOTE, actor=actor, text=text[:NOTE_LENGTH]
    )


@transaction.atomic
def close_incident(incident: Incident, summary: str, *, actor: Any) -> Incident:
    """Closed by a person, with the summary a postmortem starts from. Refused (``IncidentClosed``)
    when it closed meanwhile."""
    _require(actor)
    now = timezone.now()
    if not Incident.objects.filter(pk=incident.pk, status=IncidentStatus.OPEN).update(
        status=IncidentStatus.CLOSED, closed_at=now, closed_by=actor, summary=summary
    ):
        raise IncidentClosed("The incident was already closed.")
    IncidentEvent.objects.create(
        incident=incident, kind=EventKind.CLOSED, actor=actor, text=summary, at=now
    )
    incident.refresh_from_db()
    return incident


__all__ = [
    "NOTE_LENGTH",
    "SUMMARY_LENGTH",
    "IncidentClosed",
    "add_note",
    "close_incident",
    "close_recovered",
    "open_incident",
    "record_changes",
]
