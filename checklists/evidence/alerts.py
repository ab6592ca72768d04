"""Evidence from the panel's own alert history: its checks' state changes, the firings
Alertmanager sent it and the incidents they opened, as stored in the database (no external
source to wait for). The incidents of the window are linked, so that the person checking
reads each timeline from the item."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.db.models import Q
from django.urls import reverse

from alerts.models import StateChange
from checklists.evidence.result import ATTENTION, OK, UNVERIFIED, Link, Result, Table, when
from core import formatting
from core.choices import Severity, State
from firing.choices import FiringStatus
from firing.models import FiringAlert
from incidents.choices import IncidentStatus
from incidents.models import Incident

TABLE_ROWS = 15
INCIDENT_LINKS = 15


def _incidents(since: datetime, now: datetime) -> tuple[list[Incident], int, tuple[Link, ...]]:
    """The incidents opened in the window, and those opened before it that are still open
    (newest first, the first ``INCIDENT_LINKS`` linked): (the linked ones, how many in all,
    their links)."""
    rows = Incident.objects.filter(
        Q(opened_at__gte=since, opened_at__lte=now)
        | Q(status=IncidentStatus.OPEN, opened_at__lte=now)
    ).order_by("-opened_at", "-pk")
    count = rows.count()
    shown = list(rows[:INCIDENT_LINKS])
    links = tuple(
        (
            f"Incident {i.pk}: {i.title} ({i.get_severity_display().lower()}, opened "
            f"{when(i.opened_at)}, "
            + (
                f"closed after {formatting.span(i.closed_at - i.started_at)})"
                if i.closed_at
                else "still open)"
            ),
            reverse("incidents:incident", kwargs={"pk": i.pk}),
        )
        for i in shown
    )
    return shown, count, links


def _open_incidents(now: datetime) -> int:
    """Every incident still open (not only the linked ones: an old one may be among them)."""
    return Incident.objects.filter(status=IncidentStatus.OPEN, opened_at__lte=now).count()


def _incidents_fact(shown: list[Incident], count: int, still_open: int) -> tuple[str, str]:
    more = f" (the newest {len(shown)} linked)" if count > len(shown) else ""
    return ("Incidents", f"{count} in the window{more}, {still_open} still open")


def overnight_alerts(now: datetime) -> Result:
    """State changes into warning or critical and Alertmanager's firings of the last 24 h."""
    since = now - timedelta(hours=24)
    breaches = list(
        StateChange.objects.filter(at__gte=since, at__lte=now, to_state__in=State.BREACHED)
        .select_related("check_obj__threshold__alert")
        .order_by("-at")
    )
    firings = list(
        FiringAlert.objects.filter(starts_at__gte=since, starts_at__lte=now)
        .select_related("acknowledged_by")
        .order_by("-starts_at")
    )
    critical = sum(1 for f in firings if f.severity == Severity.CRITICAL) + sum(
        1 for b in breaches if b.to_state == State.CRITICAL
    )
    unacknowledged = [f for f in firings if f.acknowledged_at is None]
    still_firing = [f for f in firings if f.status == FiringStatus.FIRING]
    by_alert = Counter(b.check_obj.threshold.alert.name for b in breaches)
    by_alert.update(f.alertname for f in firings)
    rows = [
        (
            f.alertname,
            f.severity,
            when(f.starts_at),
            "firing" if f.status == FiringStatus.FIRING else f"resolved {when(f.ends_at)}",
            str(f.acknowledged_by or "not acknowledged"),
        )
        for f in firings[:TABLE_ROWS]
    ]
    rows += [
        (
            b.check_obj.threshold.alert.name,
            b.to_state,
            when(b.at),
            "panel check",
            b.reason[:80],
        )
        for b in breaches[: max(0, TABLE_ROWS - len(rows))]
    ]
    count = len(firings) + len(breaches)
    incidents, incident_count, links = _incidents(since, now)
    open_incidents = _open_incidents(now)
    verdict = ATTENTION if critical or unacknowledged or still_firing or open_incidents else OK
    summary = (
        "No alerts and no breaches in the last 24 hours."
        if not count
        else f"{len(firings)} alert firing(s) and {len(breaches)} check breach(es) in the last "
        f"24 hours; {critical} critical, {len(unacknowledged)} not acknowledged, "
        f"{len(still_firing)} still firing."
    )
    if incident_count:
        summary += f" {incident_count} incident(s), {open_incidents} still open: linked below."
    return Result(
        verdict,
        summary,
        (
            ("Window", f"{when(since)} to {when(now)}"),
            ("Most frequent", ", ".join(f"{n} x{c}" for n, c in by_alert.most_common(5)) or "—"),
            _incidents_fact(incidents, incident_count, open_incidents),
        ),
        Table(("Alert", "Severity", "Started", "Now", "Acknowledged / reason"), tuple(rows)),
        {
            "firings": len(firings),
            "breaches": len(breaches),
            "critical": critical,
            "unacknowledged": len(unacknowledged),
            "incidents": incident_count,
            "open_incidents": open_incidents,
        },
        links,
    )


def recent_incidents(now: datetime) -> Result:
    """The week's incidents (linked) and its critical firings and breaches: what runbooks may
    need to learn from. Whether the runbooks were updated is for the person checking to say."""
    since = now - timedelta(days=7)
    firings = list(
        FiringAlert.objects.filter(
            starts_at__gte=since, starts_at__lte=now, severity=Severity.CRITICAL
        ).order_by("-starts_at")
    )
    breaches = StateChange.objects.filter(at__gte=since, at__lte=now, to_state=State.CRITICAL)
    by_alert = Counter(f.alertname for f in firings)
    by_alert.update(breaches.values_list("check_obj__threshold__alert__name", flat=True))
    rows = tuple((name, str(count)) for name, count in by_alert.most_common(TABLE_ROWS))
    incidents, incident_count, links = _incidents(since, now)
    return Result(
        UNVERIFIED,
        f"{incident_count} incident(s) and {sum(by_alert.values())} critical firing(s) or "
        f"breach(es) in the last 7 days across {len(by_alert)} alert(s). The panel cannot tell "
        "whether their runbooks were updated.",
        (
            ("Window", f"{when(since)} to {when(now)}"),
            _incidents_fact(incidents, incident_count, _open_incidents(now)),
        ),
        Table(("Alert", "Critical firings and breaches"), rows),
        {"critical": sum(by_alert.values()), "incidents": incident_count},
        links,
    )
