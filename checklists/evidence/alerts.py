"""Evidence from the panel's own alert history: its checks' state changes and the firings
Alertmanager sent it, as stored in the database (no external source to wait for)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from alerts.models import StateChange
from checklists.evidence.result import ATTENTION, OK, UNVERIFIED, Result, Table, when
from core.choices import Severity, State
from firing.choices import FiringStatus
from firing.models import FiringAlert

TABLE_ROWS = 15


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
    verdict = ATTENTION if critical or unacknowledged or still_firing else OK
    summary = (
        "No alerts and no breaches in the last 24 hours."
        if not count
        else f"{len(firings)} alert firing(s) and {len(breaches)} check breach(es) in the last "
        f"24 hours; {critical} critical, {len(unacknowledged)} not acknowledged, "
        f"{len(still_firing)} still firing."
    )
    return Result(
        verdict,
        summary,
        (
            ("Window", f"{when(since)} to {when(now)}"),
            ("Most frequent", ", ".join(f"{n} x{c}" for n, c in by_alert.most_common(5)) or "—"),
        ),
        Table(("Alert", "Severity", "Started", "Now", "Acknowledged / reason"), tuple(rows)),
        {
            "firings": len(firings),
            "breaches": len(breaches),
            "critical": critical,
            "unacknowledged": len(unacknowledged),
        },
    )


def recent_incidents(now: datetime) -> Result:
    """The week's critical firings and breaches: the incidents runbooks may need to learn
    from. Whether the runbooks were updated is for the person checking to say."""
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
    return Result(
        UNVERIFIED,
        f"{sum(by_alert.values())} critical firing(s) or breach(es) in the last 7 days across "
        f"{len(by_alert)} alert(s). The panel cannot tell whether their runbooks were updated.",
        (("Window", f"{when(since)} to {when(now)}"),),
        Table(("Alert", "Critical firings and breaches"), rows),
        {"incidents": sum(by_alert.values())},
    )
