"""Evidence the panel gathers by itself for a run's items, kept as a JSON snapshot on the run
so that it reads the same later.

Each gatherer returns a plain dict::

    {"verdict": "ok" | "attention" | "error" | "unverified",
     "summary": "one sentence",
     "facts": [[label, text], ...],
     "table": {"columns": [...], "rows": [[...], ...]},   # optional
     "values": {...}}                                        # raw numbers, for tests and CSV

A source that did not answer (Prometheus, Alertmanager) is an ``error`` with the reason, never
an "ok": the item then says it could not be verified.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from alerts.choices import State
from alerts.models import Check, FiringAlert, NotificationChannel, StateChange, Threshold
from checklists.choices import Evidence
from checklists.models import ChecklistRun
from controlpanel import health
from metrics import prometheus
from metrics.models import Metric

log = logging.getLogger(__name__)

OK, ATTENTION, ERROR, UNVERIFIED = "ok", "attention", "error", "unverified"
# A target whose last scrape is older than this is stale even if it says "up".
STALE_SCRAPE_SECONDS = 120
BACKUP_FALLBACK_QUERY = "time() - max(leanvibe_backup_last_success_timestamp_seconds)"
BACKUP_FALLBACK_LIMIT = 26 * 3600
TABLE_ROWS = 15


def _result(
    verdict: str,
    summary: str,
    facts: list[list[str]] | None = None,
    table: dict[str, list] | None = None,
    **values: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {"verdict": verdict, "summary": summary, "facts": facts or []}
    if table and table.get("rows"):
        out["table"] = table
    out["values"] = values
    return out


def _failed(what: str, failure: str, reason: str) -> dict[str, Any]:
    return _result(ERROR, f"Could not be verified: {what} did not answer ({failure}: {reason}).")


def _when(moment: datetime | None) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else "—"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "no data"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "seconds":
        return f"{value * 1000:.0f} ms" if value < 10 else _duration(value)
    if unit == "usd":
        return f"${value:,.0f}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


# --- daily ----------------------------------------------------------------------------------


def overnight_alerts(now: datetime) -> dict[str, Any]:
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
    critical = sum(1 for f in firings if f.severity == "critical") + sum(
        1 for b in breaches if b.to_state == State.CRITICAL
    )
    unacknowledged = [f for f in firings if f.acknowledged_at is None]
    still_firing = [f for f in firings if f.status == "firing"]
    by_alert = Counter(b.check_obj.threshold.alert.name for b in breaches)
    by_alert.update(f.alertname for f in firings)
    rows = [
        [
            f.alertname,
            f.severity,
            _when(f.starts_at),
            "firing" if f.status == "firing" else f"resolved {_when(f.ends_at)}",
            str(f.acknowledged_by or "not acknowledged"),
        ]
        for f in firings[:TABLE_ROWS]
    ]
    rows += [
        [
            b.check_obj.threshold.alert.name,
            b.to_state,
            _when(b.at),
            "panel check",
            b.reason[:80],
        ]
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
    return _result(
        verdict,
        summary,
        [
            ["Window", f"{_when(since)} to {_when(now)}"],
            ["Most frequent", ", ".join(f"{n} x{c}" for n, c in by_alert.most_common(5)) or "—"],
        ],
        {"columns": ["Alert", "Severity", "Started", "Now", "Acknowledged / reason"], "rows": rows},
        firings=len(firings),
        breaches=len(breaches),
        critical=critical,
        unacknowledged=len(unacknowledged),
    )


def dashboard_health(now: datetime) -> dict[str, Any]:
    """Prometheus's targets (up, scrape age), the evaluation lag and the checks without data."""
    found, answer = prometheus.targets()
    evaluation = health.check_evaluation()
    beat = health.check_beat()
    states = Counter(Check.objects.values_list("state", flat=True))
    stale_checks = states.get(State.NO_DATA, 0) + states.get(State.ERROR, 0)
    facts = [
        [
            "Evaluation lag",
            f"{_duration(evaluation.age_seconds)} (every {evaluation.interval_seconds} s)"
            if evaluation.age_seconds is not None
            else str(evaluation.reason),
        ],
        ["Celery beat", "alive" if beat.is_ok else f"not alive: {beat.reason}"],
        ["Checks without data or in error", f"{stale_checks} of {sum(states.values())}"],
    ]
    if not answer.is_ok:
        result = _failed("Prometheus's targets API", answer.failure, answer.reason)
        result["facts"] = facts
        return result
    up = [t for t in found if t.health == "up"]
    down = [t for t in found if t.health != "up"]
    ages = [t.last_scrape_age for t in found if t.last_scrape_age is not None]
    stale = [t for t in up if (t.last_scrape_age or 0) > STALE_SCRAPE_SECONDS]
    oldest = max(ages) if ages else None
    facts = [
        ["Targets up", f"{len(up)} of {len(found)}"],
        ["Oldest scrape", _duration(oldest)],
        *facts,
    ]
    rows = [
        [t.job, t.instance, t.health, _duration(t.last_scrape_age), t.last_error or ""]
        for t in sorted(found, key=lambda t: (t.health == "up", t.job))
    ]
    is_ok = (
        found and not down and not stale and evaluation.is_ok and beat.is_ok and not stale_checks
    )
    scraped = f"oldest scrape {_duration(oldest)} ago" if oldest is not None else "none scraped yet"
    summary = f"{len(up)} of {len(found)} targets up; {scraped}; " + (
        f"evaluation lag {_duration(evaluation.age_seconds)}."
        if evaluation.age_seconds is not None
        else "no evaluation cycle recorded."
    )
    return _result(
        OK if is_ok else ATTENTION,
        summary,
        facts,
        {"columns": ["Job", "Instance", "Health", "Last scrape", "Error"], "rows": rows},
        targets_total=len(found),
        targets_up=len(up),
        targets_down=[f"{t.job}/{t.instance}" for t in down],
        oldest_scrape_seconds=oldest,
        evaluation_lag_seconds=evaluation.age_seconds,
        checks_without_data=stale_checks,
    )


def backup(now: datetime) -> dict[str, Any]:
    """Age of the newest successful backup (the backup metric), against its threshold."""
    metric = Metric.objects.filter(key="backup_age").first()
    threshold = Threshold.objects.filter(metric__key="backup_age").first()
    query = metric.query if metric else BACKUP_FALLBACK_QUERY
    limit = threshold.warning if threshold else BACKUP_FALLBACK_LIMIT
    answer = prometheus.instant_query(query, at=now.timestamp())
    if not answer.is_ok:
        return _failed("Prometheus", answer.failure, answer.reason)
    if not answer.samples:
        return _result(
            UNVERIFIED,
            "Could not be verified: the backup metric "
            "(leanvibe_backup_last_success_timestamp_seconds) has no samples.",
            [["Query", query]],
        )
    age = answer.samples[0].value
    finished = now - timedelta(seconds=age)
    verdict = OK if age <= limit else ATTENTION
    return _result(
        verdict,
        f"Last successful backup {_duration(age)} ago ({_when(finished)}); "
        f"{'within' if verdict == OK else 'OVER'} the {_duration(limit)} limit.",
        [
            ["Backup age", _duration(age)],
            ["Finished", _when(finished)],
            ["Limit (warning threshold)", _duration(limit)],
            ["Query", query],
        ],
        backup_age_seconds=round(age, 1),
        limit_seconds=limit,
    )


def _kpi_changes(now: datetime, days: int, label: str) -> dict[str, Any]:
    """Every ungrouped business KPI now and ``days`` ago, evaluated at both instants so that
    the windows are aligned and of equal length."""
    metrics = list(Metric.objects.filter(category="business", group_by=[]).order_by("name"))
    then = now - timedelta(days=days)
    jobs: list[prometheus.Job] = [(m.query, t.timestamp()) for m in metrics for t in (now, then)]
    answers = prometheus.instant_queries(jobs)
    failed = [a for a in answers.values() if not a.is_ok]
    if failed and len(failed) == len(answers):
        return _failed("Prometheus", failed[0].failure, failed[0].reason)
    rows, values = [], {}
    for m in metrics:
        current = answers[(m.query, now.timestamp())]
        before = answers[(m.query, then.timestamp())]
        a = current.samples[0].value if current.is_ok and current.samples else None
        b = before.samples[0].value if before.is_ok and before.samples else None
        change = None if a is None or b is None or b == 0 else (a - b) / abs(b) * 100
        values[m.key] = {"now": a, "before": b, "change_percent": change}
        rows.append(
            [
                m.name,
                _number(a, m.unit),
                _number(b, m.unit),
                "—" if change is None else f"{change:+.1f} %",
            ]
        )
    moved = [
        r for r, v in zip(rows, values.values(), strict=True) if v["change_percent"] is not None
    ]
    if moved:
        verdict = ATTENTION if failed else OK
        summary = f"{len(moved)} of {len(rows)} KPIs compared with {label}"
    else:  # nothing was compared: that verifies nothing, it is not "ok"
        verdict = UNVERIFIED
        summary = f"No KPI could be compared with {label}: values are missing now or then"
    summary += f"; {len(failed)} queries failed." if failed else "."
    return _result(
        verdict,
        summary,
        [["Compared", f"{_when(now)} with {_when(then)}"]],
        {"columns": ["KPI", "Now", label.capitalize(), "Change"], "rows": rows},
        kpis=values,
    )


def business_trends(now: datetime) -> dict[str, Any]:
    return _kpi_changes(now, 7, "a week ago")


def business_baselines(now: datetime) -> dict[str, Any]:
    return _kpi_changes(now, 30, "30 days ago")


# --- weekly ---------------------------------------------------------------------------------


def alert_accuracy(now: datetime) -> dict[str, Any]:
    """The noise report's last 7 days: the alerts that fired, flapped or were left alone."""
    from alerts import alertmanager, noise

    try:
        silences: list | None = alertmanager.list_silences(states=("active", "pending", "expired"))
    except alertmanager.AlertmanagerError as exc:
        log.info("no silences for the noise evidence: %s", exc)
        silences = None
    rows = []
    for row in noise.build_report(now, silences):
        week = row.windows["7 days"]
        if not (week.fired or week.flaps):
            continue
        share = week.acknowledged_share
        rows.append(
            [
                row.alert.name,
                str(week.fired),
                _duration(week.firing_seconds),
                str(week.flaps),
                "—" if share is None else f"{share * 100:.0f} %",
                _when(row.last_tuned.at) if row.last_tuned else "never",
            ]
        )
    noisy = [r for r in rows if int(r[1]) >= 10 or int(r[3]) >= 3]
    summary = (
        "No alert fired or flapped in the last 7 days."
        if not rows
        else f"{len(rows)} alert(s) fired or flapped in the last 7 days; {len(noisy)} noisy "
        "(10+ firings or 3+ flaps): candidates for tuning."
    )
    return _result(
        ATTENTION if noisy else OK,
        summary,
        [["Silences", "unknown (Alertmanager did not answer)" if silences is None else "counted"]],
        {"columns": ["Alert", "Fired", "Firing", "Flaps", "Acked", "Last tuned"], "rows": rows},
        alerts_fired=len(rows),
        noisy=len(noisy),
    )


PERFORMANCE_METRICS = (
    "api_p95_latency",
    "api_error_rate",
    "api_throughput",
    "node_cpu",
    "node_memory",
    "disk_usage",
)


def performance_capacity(now: datetime) -> dict[str, Any]:
    """7-day average and peak of the performance and capacity metrics, against the week
    before; headroom is what is left of 100 % at the peak."""
    metrics = list(Metric.objects.filter(key__in=PERFORMANCE_METRICS))
    at = now.timestamp()
    jobs: list[prometheus.Job] = []
    for m in metrics:
        jobs += [
            (f"avg_over_time(({m.query})[7d:1h])", at),
            (f"max_over_time(({m.query})[7d:1h])", at),
            (f"avg_over_time(({m.query})[7d:1h] offset 7d)", at),
        ]
    answers = prometheus.instant_queries(jobs)
    failed = [a for a in answers.values() if not a.is_ok]
    if failed and len(failed) == len(answers):
        return _failed("Prometheus", failed[0].failure, failed[0].reason)
    rows, headroom = [], {}
    order = {key: i for i, key in enumerate(PERFORMANCE_METRICS)}
    for m in sorted(metrics, key=lambda m: order[m.key]):
        avg, peak, before = (
            answers[job] for job in jobs[3 * metrics.index(m) : 3 * metrics.index(m) + 3]
        )

        def by_labels(result: prometheus.QueryResult) -> dict[str, float]:
            return {
                ", ".join(f"{k}={v}" for k, v in sorted(s.labels.items())): s.value
                for s in result.samples
            }

        avgs, peaks, befores = by_labels(avg), by_labels(peak), by_labels(before)
        for labels in sorted(avgs):
            change = None
            if befores.get(labels):
                change = (avgs[labels] - befores[labels]) / abs(befores[labels]) * 100
            room = None
            if m.unit == "percent" and labels in peaks and m.key != "api_error_rate":
                room = 100 - peaks[labels]
                headroom[f"{m.key}{{{labels}}}"] = round(room, 1)
            rows.append(
                [
                    m.name + (f" ({labels})" if labels else ""),
                    _number(avgs[labels], m.unit),
                    _number(peaks.get(labels), m.unit),
                    "—" if change is None else f"{change:+.1f} %",
                    "—" if room is None else f"{room:.1f} %",
                ]
            )
    least = min(headroom.items(), key=lambda kv: kv[1]) if headroom else None
    summary = f"7-day trends of {len(rows)} series" + (
        f"; least headroom {least[1]:.1f} % ({least[0]})." if least else "."
    )
    return _result(
        ATTENTION if (least and least[1] < 20) or failed else OK,
        summary,
        [["Window", f"7 days to {_when(now)}, compared with the 7 days before"]],
        {
            "columns": [
                "Series",
                "7-day average",
                "7-day peak",
                "Against the week before",
                "Headroom",
            ],
            "rows": rows,
        },
        headroom_percent=headroom,
        series=len(rows),
    )


def recent_incidents(now: datetime) -> dict[str, Any]:
    """The week's critical firings and breaches: the incidents runbooks may need to learn
    from. Whether the runbooks were updated is for the person checking to say."""
    since = now - timedelta(days=7)
    firings = list(
        FiringAlert.objects.filter(
            starts_at__gte=since, starts_at__lte=now, severity="critical"
        ).order_by("-starts_at")
    )
    breaches = StateChange.objects.filter(at__gte=since, at__lte=now, to_state=State.CRITICAL)
    by_alert = Counter(f.alertname for f in firings)
    by_alert.update(breaches.values_list("check_obj__threshold__alert__name", flat=True))
    rows = [[name, str(count)] for name, count in by_alert.most_common(TABLE_ROWS)]
    return _result(
        UNVERIFIED,
        f"{sum(by_alert.values())} critical firing(s) or breach(es) in the last 7 days across "
        f"{len(by_alert)} alert(s). The panel cannot tell whether their runbooks were updated.",
        [["Window", f"{_when(since)} to {_when(now)}"]],
        {"columns": ["Alert", "Critical firings and breaches"], "rows": rows},
        incidents=sum(by_alert.values()),
    )


def monitoring_health(now: datetime) -> dict[str, Any]:
    """Prometheus's TSDB status (series, chunks, the biggest metrics), its retention and the
    health of the alerting rules it runs."""
    status = prometheus.tsdb_status()
    if not status.is_ok or not isinstance(status.data, dict):
        return _failed("Prometheus's TSDB status API", status.failure, status.reason)
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
    facts = [
        ["Head series", f"{head.get('numSeries', 0):,}"],
        ["Head chunks", f"{head.get('chunkCount', 0):,}"],
        ["Head time span", _duration(span)],
        ["Retention", str(retention)],
        [
            "Block storage",
            "not scraped (Prometheus does not scrape itself)"
            if storage_bytes is None
            else f"{storage_bytes / 1e6:,.1f} MB",
        ],
        [
            "Alerting rules",
            f"{len(rules.rules)} loaded, {len(broken)} with errors"
            if rules.is_ok
            else f"unknown ({rules.reason})",
        ],
    ]
    rows = [[str(b.get("name")), f"{int(b.get('value', 0)):,}"] for b in biggest[:10]]
    return _result(
        ATTENTION if broken else OK,
        f"{head.get('numSeries', 0):,} series in the head block, retention {retention}"
        + (f"; {len(broken)} alerting rule(s) with errors." if broken else "."),
        facts,
        {"columns": ["Metric", "Series"], "rows": rows},
        head_series=head.get("numSeries"),
        head_chunks=head.get("chunkCount"),
        storage_bytes=storage_bytes,
        broken_rules=[r.name for r in broken],
    )


# --- monthly and quarterly ------------------------------------------------------------------


def sla(now: datetime) -> dict[str, Any]:
    """The SLA report of the last full month (the month before ``now``'s)."""
    from checklists import sla as sla_report

    this_month = timezone.localtime(now).date().replace(day=1)
    month = (this_month - timedelta(days=1)).replace(day=1)
    report = sla_report.build_report(month, now=now)
    if report.error:
        return _failed("Prometheus", "error", report.error)
    rows = []
    missed = []
    for tier in report.tiers:
        rows.append(
            [
                tier.tier,
                sla_report.percent(tier.latency_share),
                sla_report.percent(tier.error_share),
                sla_report.percent(tier.availability),
                _duration(tier.warning_seconds),
                _duration(tier.critical_seconds),
            ]
        )
        if tier.latency_share is not None and tier.latency_share < sla_report.TARGET:
            missed.append(tier.tier)
    return _result(
        ATTENTION if missed else OK,
        f"{report.label}: "
        + (
            f"latency commitment missed for {', '.join(missed)}."
            if missed
            else "every tier met its latency commitment."
        ),
        [["Month", report.label], ["Target", f"{sla_report.TARGET * 100:.1f} % of intervals"]],
        {
            "columns": [
                "Tier",
                "p95 within warning",
                "Error rate within 1 %",
                "Availability",
                "Warning",
                "Critical",
            ],
            "rows": rows,
        },
        month=str(month),
        tiers={t.tier: t.as_dict() for t in report.tiers},
    )


def alert_configuration(now: datetime) -> dict[str, Any]:
    """Every threshold with its levels (and whether it was tuned), every notification channel
    with its recipients, and the health of the rules Prometheus runs."""
    thresholds = list(Threshold.objects.select_related("metric", "alert").order_by("key"))
    channels = list(NotificationChannel.objects.all())
    rules = prometheus.alerting_rules()
    enabled = [c for c in channels if c.is_enabled]
    rows = [
        [
            f"threshold {t.key}",
            f"{t.direction} {t.warning:g} / {t.critical if t.critical is not None else '—'} "
            f"for {t.for_warning}",
            "tuned" if t.is_tuned else "playbook values",
        ]
        for t in thresholds
    ]
    rows += [
        [
            f"channel {c.name}",
            f"{c.get_kind_display()}: {c.target[:80]}",
            ("enabled" if c.is_enabled else "disabled")
            + f", {c.min_severity}+, {', '.join(c.categories) or 'all categories'}",
        ]
        for c in channels
    ]
    broken = [r.name for r in rules.rules if r.health not in ("ok", "unknown")]
    facts = [
        ["Thresholds", f"{len(thresholds)} ({sum(t.is_tuned for t in thresholds)} tuned)"],
        ["Notification channels", f"{len(enabled)} enabled of {len(channels)}"],
        [
            "Rules in Prometheus",
            f"{len(rules.rules)} loaded, {len(broken)} with errors"
            if rules.is_ok
            else f"unknown: Prometheus did not answer ({rules.reason})",
        ],
    ]
    verdict = ATTENTION if not enabled or broken or not rules.is_ok else OK
    summary = f"{len(thresholds)} thresholds, {len(enabled)} enabled notification channel(s)" + (
        "; no channel is enabled: nobody is notified by the panel." if not enabled else "."
    )
    return _result(
        verdict,
        summary,
        facts,
        {"columns": ["What", "Setting", "State"], "rows": rows},
        thresholds=len(thresholds),
        channels_enabled=len(enabled),
        rules_loaded=len(rules.rules),
    )


def team_changes(now: datetime) -> dict[str, Any]:
    """People who joined in the last quarter, with their roles: whom the training is for."""
    since = now - timedelta(days=92)
    users = list(
        User.objects.filter(date_joined__gte=since, is_active=True)
        .prefetch_related("groups")
        .order_by("date_joined")
    )
    rows = [
        [
            u.get_username(),
            _when(u.date_joined),
            ", ".join(g.name for g in u.groups.all()) or "no role",
        ]
        for u in users
    ]
    return _result(
        UNVERIFIED,
        f"{len(users)} person(s) joined in the last 92 days. Whether they were trained is for "
        "you to say.",
        [],
        {"columns": ["User", "Joined", "Roles"], "rows": rows},
        joined=len(users),
    )


def not_verifiable(now: datetime) -> dict[str, Any]:
    return _result(
        UNVERIFIED,
        "The panel cannot verify this item: say in the note how it was done.",
    )


GATHERERS: dict[str, Callable[[datetime], dict[str, Any]]] = {
    Evidence.NONE: not_verifiable,
    Evidence.OVERNIGHT_ALERTS: overnight_alerts,
    Evidence.DASHBOARD_HEALTH: dashboard_health,
    Evidence.BACKUP: backup,
    Evidence.BUSINESS_TRENDS: business_trends,
    Evidence.ALERT_ACCURACY: alert_accuracy,
    Evidence.PERFORMANCE_CAPACITY: performance_capacity,
    Evidence.RECENT_INCIDENTS: recent_incidents,
    Evidence.MONITORING_HEALTH: monitoring_health,
    Evidence.SLA: sla,
    Evidence.BUSINESS_BASELINES: business_baselines,
    Evidence.ALERT_CONFIGURATION: alert_configuration,
    Evidence.TEAM_CHANGES: team_changes,
}


def gather(run: ChecklistRun, now: datetime | None = None) -> dict[str, Any]:
    """The snapshot for every kind of evidence the run's items ask for. A gatherer that
    fails for a reason of its own is recorded as an error, and the rest still gathered."""
    now = now or timezone.now()
    kinds = list(dict.fromkeys(run.items.values_list("evidence", flat=True)))
    items: dict[str, Any] = {}
    problems = []
    for kind in kinds:
        gatherer = GATHERERS.get(kind, not_verifiable)
        try:
            items[kind] = gatherer(now)
        except Exception as exc:  # one broken source must not cost the others
            log.exception("evidence %s for %s failed", kind, run)
            items[kind] = _result(ERROR, f"Could not be gathered: {type(exc).__name__}: {exc}")
        if items[kind]["verdict"] == ERROR:
            problems.append(kind)
    return {"gathered_at": now.isoformat(), "items": items, "problems": problems}


def is_incomplete(evidence: dict[str, Any]) -> bool:
    return not evidence or bool(evidence.get("problems"))


__all__ = ["GATHERERS", "gather", "is_incomplete"]
