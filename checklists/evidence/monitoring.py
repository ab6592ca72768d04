"""Evidence that the monitoring itself works: Prometheus's scrape targets and the panel's
evaluation and beat (what the dashboards rest on), and Prometheus's TSDB, retention and rules."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from alerts.models import Check
from checklists.evidence.result import ATTENTION, OK, Fact, Result, Table, failed
from core import formatting
from core.choices import State
from health import checks as health
from integrations import prometheus

# A target whose last scrape is older than this is stale even if it says "up".
STALE_SCRAPE_SECONDS = 120


def dashboard_health(now: datetime) -> Result:
    """Prometheus's targets (up, scrape age), the evaluation lag and the checks without data."""
    found, answer = prometheus.targets()
    evaluation = health.check_evaluation()
    beat = health.check_beat()
    states = Counter(Check.objects.values_list("state", flat=True))
    stale_checks = states.get(State.NO_DATA, 0) + states.get(State.ERROR, 0)
    panel_facts: tuple[Fact, ...] = (
        (
            "Evaluation lag",
            f"{formatting.age(evaluation.age_seconds)} (every {evaluation.interval_seconds} s)"
            if evaluation.age_seconds is not None
            else str(evaluation.reason),
        ),
        ("Celery beat", "alive" if beat.is_ok else f"not alive: {beat.reason}"),
        ("Checks without data or in error", f"{stale_checks} of {sum(states.values())}"),
    )
    if not answer.is_ok:
        return failed("Prometheus's targets API", answer.failure, answer.reason, panel_facts)
    up = [t for t in found if t.health == "up"]
    down = [t for t in found if t.health != "up"]
    ages = [t.last_scrape_age for t in found if t.last_scrape_age is not None]
    stale = [t for t in up if (t.last_scrape_age or 0) > STALE_SCRAPE_SECONDS]
    oldest = max(ages) if ages else None
    facts = (
        ("Targets up", f"{len(up)} of {len(found)}"),
        ("Oldest scrape", formatting.age(oldest)),
        *panel_facts,
    )
    rows = tuple(
        (t.job, t.instance, t.health, formatting.age(t.last_scrape_age), t.last_error or "")
        for t in sorted(found, key=lambda t: (t.health == "up", t.job))
    )
    is_ok = (
        found and not down and not stale and evaluation.is_ok and beat.is_ok and not stale_checks
    )
    scraped = (
        f"oldest scrape {formatting.age(oldest)} ago" if oldest is not None else "none scraped yet"
    )
    summary = f"{len(up)} of {len(found)} targets up; {scraped}; " + (
        f"evaluation lag {formatting.age(evaluation.age_seconds)}."
        if evaluation.age_seconds is not None
        else "no evaluation cycle recorded."
    )
    return Result(
        OK if is_ok else ATTENTION,
        summary,
        facts,
        Table(("Job", "Instance", "Health", "Last scrape", "Error"), rows),
        {
            "targets_total": len(found),
            "targets_up": len(up),
            "targets_down": [f"{t.job}/{t.instance}" for t in down],
            "oldest_scrape_seconds": oldest,
            "evaluation_lag_seconds": evaluation.age_seconds,
            "checks_without_data": stale_checks,
        },
    )


def monitoring_health(now: datetime) -> Result:
    """Prometheus's TSDB status (series, chunks, the biggest metrics), its retention and the
    health of the alerting rules it runs."""
    status = prometheus.tsdb_status()
    if not status.is_ok or not isinstance(status.data, dict):
        return failed("Prometheus's TSDB status API", status.failure, status.reason)
    runtime = prometheus.runtime_info()
    rules = prometheus.alerting_rules()
    head = status.data.get("headStats") or {}
    biggest = status.data.get("seriesCountByMetricName") or []
    storage = prometheus.instant_query("sum(prometheus_tsdb_storage_blocks_bytes)")
    storage_bytes = storage.samples[0].value if storage.is_ok and storage.samples else None
    span = None
    if head.get("minTime") and head.get("maxTime") and head["maxTime"] > head["minTime"]:
        span = (head["maxTime"] - head["minTime"]) / 1000
    retention = (
        runtime.data.get("storageRetention", "?")
        if runtime.is_ok and isinstance(runtime.data, dict)
        else f"unknown ({runtime.reason})"
    )
    broken = [r for r in rules.rules if r.health not in ("ok", "unknown")] if rules.is_ok else []
    facts = (
        ("Head series", f"{head.get('numSeries', 0):,}"),
        ("Head chunks", f"{head.get('chunkCount', 0):,}"),
        ("Head time span", formatting.age(span)),
        ("Retention", str(retention)),
        (
            "Block storage",
            "not scraped (Prometheus does not scrape itself)"
            if storage_bytes is None
            else f"{storage_bytes / 1e6:,.1f} MB",
        ),
        (
            "Alerting rules",
            f"{len(rules.rules)} loaded, {len(broken)} with errors"
            if rules.is_ok
            else f"unknown ({rules.reason})",
        ),
    )
    rows = tuple((str(b.get("name")), f"{int(b.get('value', 0)):,}") for b in biggest[:10])
    return Result(
        ATTENTION if broken else OK,
        f"{head.get('numSeries', 0):,} series in the head block, retention {retention}"
        + (f"; {len(broken)} alerting rule(s) with errors." if broken else "."),
        facts,
        Table(("Metric", "Series"), rows),
        {
            "head_series": head.get("numSeries"),
            "head_chunks": head.get("chunkCount"),
            "storage_bytes": storage_bytes,
            "broken_rules": [r.name for r in broken],
        },
    )
