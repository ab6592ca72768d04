"""Evidence of the business trends: every business KPI now against a week or 30 days ago."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from checklists.evidence.result import ATTENTION, OK, UNVERIFIED, Result, Table, failed, when
from core import formatting
from integrations import prometheus
from metrics.models import Metric


def _kpi_changes(now: datetime, days: int, label: str) -> Result:
    """Every ungrouped business KPI now and ``days`` ago, evaluated at both instants so that
    the windows are aligned and of equal length."""
    metrics = list(Metric.objects.filter(category="business", group_by=[]).order_by("name"))
    then = now - timedelta(days=days)
    jobs: list[prometheus.Job] = [(m.query, t.timestamp()) for m in metrics for t in (now, then)]
    answers = prometheus.instant_queries(jobs)
    failed_answers = [a for a in answers.values() if not a.is_ok]
    if failed_answers and len(failed_answers) == len(answers):
        return failed("Prometheus", failed_answers[0].failure, failed_answers[0].reason)
    rows: list[tuple[str, ...]] = []
    values: dict[str, dict[str, Any]] = {}
    for m in metrics:
        current = answers[(m.query, now.timestamp())]
        before = answers[(m.query, then.timestamp())]
        a = current.samples[0].value if current.is_ok and current.samples else None
        b = before.samples[0].value if before.is_ok and before.samples else None
        change = None if a is None or b is None or b == 0 else (a - b) / abs(b) * 100
        values[m.key] = {"now": a, "before": b, "change_percent": change}
        rows.append(
            (
                m.name,
                formatting.reading(a, m.unit),
                formatting.reading(b, m.unit),
                formatting.signed_percent(change),
            )
        )
    moved = [
        r for r, v in zip(rows, values.values(), strict=True) if v["change_percent"] is not None
    ]
    if moved:
        verdict = ATTENTION if failed_answers else OK
        summary = f"{len(moved)} of {len(rows)} KPIs compared with {label}"
    else:  # nothing was compared: that verifies nothing, it is not "ok"
        verdict = UNVERIFIED
        summary = f"No KPI could be compared with {label}: values are missing now or then"
    summary += f"; {len(failed_answers)} queries failed." if failed_answers else "."
    return Result(
        verdict,
        summary,
        (("Compared", f"{when(now)} with {when(then)}"),),
        Table(("KPI", "Now", label.capitalize(), "Change"), tuple(rows)),
        {"kpis": values},
    )


def business_trends(now: datetime) -> Result:
    return _kpi_changes(now, 7, "a week ago")


def business_baselines(now: datetime) -> Result:
    return _kpi_changes(now, 30, "30 days ago")
