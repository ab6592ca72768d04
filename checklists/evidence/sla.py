"""Evidence of the SLA: the report of the last full month, tier by tier."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from checklists import sla as sla_report
from checklists.evidence.result import ATTENTION, OK, Result, Table, failed
from core import formatting


def last_month_sla(now: datetime) -> Result:
    """The SLA report of the last full month (the month before ``now``'s)."""
    this_month = timezone.localtime(now).date().replace(day=1)
    month = (this_month - timedelta(days=1)).replace(day=1)
    report = sla_report.build_report(month, now=now)
    if report.error:
        return failed("Prometheus", "error", report.error)
    rows = []
    missed = []
    for tier in report.tiers:
        rows.append(
            (
                tier.tier,
                formatting.share(tier.latency_share),
                formatting.share(tier.error_share),
                formatting.share(tier.availability),
                formatting.age(tier.warning_seconds),
                formatting.age(tier.critical_seconds),
            )
        )
        if tier.latency_share is not None and tier.latency_share < sla_report.TARGET:
            missed.append(tier.tier)
    return Result(
        ATTENTION if missed else OK,
        f"{report.label}: "
        + (
            f"latency commitment missed for {', '.join(missed)}."
            if missed
            else "every tier met its latency commitment."
        ),
        (
            ("Month", report.label),
            ("Target", f"{formatting.share(sla_report.TARGET, digits=1)} of intervals"),
        ),
        Table(
            (
                "Tier",
                "p95 within warning",
                "Error rate within 1 %",
                "Availability",
                "Warning",
                "Critical",
            ),
            tuple(rows),
        ),
        {"month": str(month), "tiers": {t.tier: t.as_dict() for t in report.tiers}},
    )
