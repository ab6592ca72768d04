"""An incident's timeline, read when the page is drawn from the tables that hold each record:
the incident's own events, its checks' state changes (alerts), the firing alerts of its alerts
with their acknowledgements and silences (firing), the runs of its alerts' runbooks (runbooks)
and the messages sent about its state changes (notifications).

Each source is related to the incident by what it shares with it (its checks, its alerts'
names, the firing alerts of those names) and by the incident's time window: from ``LEAD``
before its first sign to its close (or now). Each source is read in one query and cut at
``LIMIT`` rows (the cut is said on the page): a flapping check must not make the page
unbounded.

The four durations a postmortem asks for are measured from the first sign: the earliest of
the incident's start, a pending or breaching change of its checks, and an alert's start in
Prometheus (``FiringAlert.starts_at``), so that time to detect includes the time a threshold
was crossed before the panel called it an incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from django.db.models import Model, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from alerts.models import StateChange
from core.choices import State
from firing.models import Acknowledgement, FiringAlert, SilenceAudit
from incidents.choices import EventKind
from incidents.models import Incident, IncidentEvent
from notifications.models import Notification
from runbooks.choices import RunStatus
from runbooks.kinds import KINDS
from runbooks.models import ActionRun

# Before the first breach: the pending changes and the alert's start in Prometheus that led
# up to it. Ten minutes is the longest sustained-for of the playbook's operational thresholds
# (CPU, disk); the business KPIs' hour-long ones start earlier, and their checks' history
# pages, linked from each state change, show all of it.
LEAD = timedelta(minutes=10)
# Six sources of at most this many rows: a ten-hour flapping incident stays under 500 KB
# (at 500 a source it was 959 KB, refreshed by every viewer); each state change links to its
# check's history, which has all of them.
LIMIT = 200

M = TypeVar("M", bound=Model)


class Source:
    INCIDENT = "incident"
    STATE = "state"
    ALERT = "alert"
    ACK = "ack"
    SILENCE = "silence"
    RUN = "run"
    NOTIFICATION = "notification"
    NOTE = "note"


SOURCE_LABELS = {
    Source.INCIDENT: "Incident",
    Source.STATE: "State change",
    Source.ALERT: "Alert",
    Source.ACK: "Acknowledged",
    Source.SILENCE: "Silence",
    Source.RUN: "Runbook run",
    Source.NOTIFICATION: "Notification",
    Source.NOTE: "Note",
}


@dataclass(frozen=True)
class Entry:
    """One line of the timeline. ``state`` names the badge's colour (a state or a run status);
    ``actor`` is empty for the panel or Alertmanager; ``url`` links the record, if it has a
    page."""

    at: datetime
    source: str
    text: str
    detail: str = ""
    actor: str = ""
    state: str = ""
    url: str = ""

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)


@dataclass(frozen=True)
class Durations:
    first_sign: datetime
    opened_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None

    def _since_first_sign(self, moment: datetime | None) -> timedelta | None:
        return None if moment is None else max(timedelta(0), moment - self.first_sign)

    @property
    def detect(self) -> timedelta | None:
        return self._since_first_sign(self.opened_at)

    @property
    def acknowledge(self) -> timedelta | None:
        return self._since_first_sign(self.acknowledged_at)

    @property
    def mitigate(self) -> timedelta | None:
        return self._since_first_sign(self.mitigated_at)

    @property
    def resolve(self) -> timedelta | None:
        return self._since_first_sign(self.resolved_at)

    def rows(self) -> list[tuple[str, timedelta | None, datetime | None, str]]:
        """(name, duration, moment, what ends it), in the order a postmortem reads them."""
        return [
            ("Time to detect", self.detect, self.opened_at, "the incident opened"),
            (
                "Time to acknowledge",
                self.acknowledge,
                self.acknowledged_at,
                "the first acknowledgement",
            ),
            (
                "Time to mitigate",
                self.mitigate,
                self.mitigated_at,
                "the first successful change run",
            ),
            ("Time to resolve", self.resolve, self.resolved_at, "the incident closed"),
        ]


@dataclass
class Timeline:
    entries: list[Entry]
    durations: Durations
    start: datetime
    end: datetime
    alert_names: list[str]
    checks: list[object]
    cut: list[str] = field(default_factory=list)


def _labels(labels: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _who(user: object | None) -> str:
    return "" if user is None else str(user)


def _read(rows: QuerySet[M], what: str, cut: list[str]) -> list[M]:
    """The first ``LIMIT`` rows, and ``what`` noted in ``cut`` when there were more."""
    items = list(rows[: LIMIT + 1])
    if len(items) > LIMIT:
        cut.append(what)
    return items[:LIMIT]


def _mentions(silence: SilenceAudit, names: set[str]) -> bool:
    return any(f'alertname="{name}"' in silence.matchers for name in names)


def build(incident: Incident, now: datetime | None = None) -> Timeline:
    """The incident's timeline, oldest first, and its durations."""
    now = now or timezone.now()
    end = incident.closed_at or now
    start = incident.started_at - LEAD
    cut: list[str] = []
    entries: list[Entry] = []
    members = list(
        incident.members.select_related(
            "check_obj__threshold__metric", "check_obj__threshold__alert"
        )
    )
    check_ids = [m.check_obj_id for m in members]
    names = set(incident.alerts.values_list("name", flat=True))
    names |= {m.check_obj.threshold.alert.name for m in members}

    events = _read(
        IncidentEvent.objects.filter(incident=incident)
        .select_related("actor")
        .order_by("at", "pk"),
        "notes and events",
        cut,
    )
    for event in events:
        source = Source.NOTE if event.kind == EventKind.NOTE else Source.INCIDENT
        text = event.get_kind_display() if source == Source.INCIDENT else "Note"
        if event.kind == EventKind.CLOSED and event.actor_id is None:
            text = "Closed by itself"
        entries.append(
            Entry(
                event.at,
                source,
                text,
                event.text,
                _who(event.actor),
                "ok" if event.kind == EventKind.CLOSED else "",
            )
        )

    # Before the first breach only the lead-up counts (pending, or a breach): a check's
    # earlier recovery or first reading is another story.
    changes = _read(
        StateChange.objects.filter(check_obj_id__in=check_ids, at__gte=start, at__lte=end)
        .exclude(Q(at__lt=incident.started_at) & ~Q(to_state__in=(State.PENDING, *State.BREACHED)))
        .select_related("check_obj__threshold__alert")
        .order_by("at", "pk"),
        "state changes",
        cut,
    )
    for change in changes:
        check = change.check_obj
        entries.append(
            Entry(
                change.at,
                Source.STATE,
                f"{check.threshold.alert.name} {_labels(check.labels)}: "
                f"{State(change.from_state).label} → {State(change.to_state).label}",
                change.reason,
                state=change.to_state,
                url=reverse("alerts:check-history", kwargs={"pk": check.pk}),
            )
        )

    firing = _read(
        FiringAlert.objects.filter(alertname__in=names, starts_at__lte=end)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gte=start))
        .order_by("starts_at", "pk"),
        "alerts",
        cut,
    )
    firing_ids = [f.pk for f in firing]
    for alert in firing:
        entries.append(
            Entry(
                alert.starts_at,
                Source.ALERT,
                f"{alert.alertname} fired in Prometheus ({_labels(alert.labels)})",
                str(alert.annotations.get("summary", "")),
                state=alert.severity or "warning",
                url=reverse("firing:firing"),
            )
        )
        if alert.ends_at is not None:
            entries.append(
                Entry(
                    alert.ends_at,
                    Source.ALERT,
                    f"{alert.alertname} resolved ({_labels(alert.labels)})",
                    alert.get_resolution_display() if alert.resolution else "",
                    state="ok",
                )
            )

    acks = _read(
        Acknowledgement.objects.filter(alert_id__in=firing_ids)
        .select_related("actor", "alert")
        .order_by("at", "pk"),
        "acknowledgements",
        cut,
    )
    for ack in acks:
        entries.append(
            Entry(
                ack.at,
                Source.ACK,
                f"{ack.alert.alertname} acknowledged",
                ack.comment,
                _who(ack.actor),
            )
        )

    silences = [
        s
        for s in _read(
            SilenceAudit.objects.filter(Q(alert_id__in=firing_ids) | Q(at__gte=start, at__lte=end))
            .select_related("actor")
            .order_by("at", "pk"),
            "silences",
            cut,
        )
        if s.alert_id in firing_ids or _mentions(s, names)
    ]
    for silence in silences:
        until = (
            f"; until {timezone.localtime(silence.ends_at):%Y-%m-%d %H:%M}"
            if silence.ends_at
            else ""
        )
        entries.append(
            Entry(
                silence.at,
                Source.SILENCE,
                f"Silence {silence.get_action_display().lower()}: {', '.join(silence.matchers)}",
                f"{silence.comment}{until}",
                _who(silence.actor),
                "silenced",
                reverse("firing:silences"),
            )
        )

    runs = _read(
        ActionRun.objects.filter(
            runbook_name__in=names, requested_at__gte=start, requested_at__lte=end
        )
        .select_related("requested_by", "approved_by")
        .order_by("requested_at", "pk"),
        "runbook runs",
        cut,
    )
    mitigated_at: datetime | None = None
    for run in runs:
        url = reverse("runbooks:run", kwargs={"pk": run.pk})
        dry = " (dry run)" if run.dry_run else ""
        entries.append(
            Entry(
                run.requested_at,
                Source.RUN,
                f"{run.runbook_name}: {run.action_label}{dry} requested",
                run.parameters_text,
                _who(run.requested_by),
                "pending",
                url,
            )
        )
        if run.approved_at is not None:
            entries.append(
                Entry(
                    run.approved_at,
                    Source.RUN,
                    f"{run.action_label} approved",
                    "",
                    _who(run.approved_by),
                    "pending",
                    url,
                )
            )
        if run.finished_at is not None:
            entries.append(
                Entry(
                    run.finished_at,
                    Source.RUN,
                    f"{run.action_label}{dry}: {run.get_status_display().lower()}",
                    run.error,
                    state=run.status,
                    url=url,
                )
            )
            kind = KINDS.get(run.kind)
            if (
                run.status == RunStatus.SUCCEEDED
                and not run.dry_run
                and kind is not None
                and kind.is_change
                and (mitigated_at is None or run.finished_at < mitigated_at)
            ):
                mitigated_at = run.finished_at

    notifications = _read(
        Notification.objects.filter(
            state_change__check_obj_id__in=check_ids, sent_at__gte=start, sent_at__lte=end
        )
        .select_related("channel")
        .order_by("sent_at", "pk"),
        "notifications",
        cut,
    )
    for note in notifications:
        entries.append(
            Entry(
                note.sent_at,
                Source.NOTIFICATION,
                f"Sent to {note.channel.name}: {note.subject}",
                "delivered" if note.is_delivered else f"not delivered: {note.error}",
                state="ok" if note.is_delivered else "error",
            )
        )

    # At the same moment the incident's own event comes last: it opened on the breach, and
    # closed on the recovery, written in the same cycle.
    entries.sort(key=lambda e: (e.at, e.source == Source.INCIDENT))
    signs = [incident.started_at]
    signs += [c.at for c in changes if c.to_state in (State.PENDING, *State.BREACHED)]
    signs += [f.starts_at for f in firing if f.starts_at >= start]
    durations = Durations(
        first_sign=min(signs),
        opened_at=incident.opened_at,
        acknowledged_at=min((a.at for a in acks), default=None),
        mitigated_at=mitigated_at,
        resolved_at=incident.closed_at,
    )
    return Timeline(
        entries,
        durations,
        start,
        end,
        sorted(names),
        [m.check_obj for m in members],
        cut,
    )
