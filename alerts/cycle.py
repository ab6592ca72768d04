"""One evaluation cycle: query Prometheus for every threshold at once, judge each check with
the rules in ``alerts.evaluation``, store the states and a history row for every change."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, Max

from alerts.choices import TuningKind
from alerts.evaluation import Reading, judge, relative_change
from alerts.models import Check, StateChange, Threshold, TuningNote
from core.choices import State
from core.promql import duration_seconds
from health import checks as health
from integrations import prometheus

FAILURE = "failure"  # the readings key of a threshold whose query failed


def signature(threshold_key: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{threshold_key}{{{inner}}}"


@dataclass(frozen=True)
class CycleResult:
    evaluated_at: float
    checks: int
    changes: int
    queries: int
    seconds: float
    # The changes written, for the caller to act on (the task queues their notifications).
    state_changes: list[StateChange] = field(default_factory=list, repr=False)


def evaluate_cycle(now: float | None = None) -> CycleResult:
    """Evaluate every threshold once: all distinct queries in parallel (current values, traffic
    guards, and the aligned past window of relative thresholds), then judge and store each
    check, writing a history row for every change of state."""
    started = time.perf_counter()
    now = now if now is not None else time.time()
    thresholds = list(Threshold.objects.select_related("metric", "alert"))
    jobs: list[prometheus.Job] = []
    for threshold in thresholds:
        metric = threshold.metric
        jobs.append((metric.query, now))
        if metric.volume_query:
            jobs.append((metric.volume_query, now))
        if threshold.relative_to:
            jobs.append((metric.query, now - duration_seconds(threshold.relative_to)))
    results = prometheus.instant_queries(jobs)
    stamp = datetime.fromtimestamp(now, tz=UTC)
    to_save: list[Check] = []
    changes: list[StateChange] = []
    by_threshold: dict[int, dict[str, Check]] = {}
    for existing in Check.objects.all():
        by_threshold.setdefault(existing.threshold_id, {})[existing.signature] = existing
    edited = _last_edits()
    for threshold in thresholds:
        readings = _readings(threshold, results, now)
        known = by_threshold.get(threshold.pk, {})
        for labels in _expected_series(threshold, readings, known):
            sig = signature(threshold.key, labels)
            check = known.get(sig) or Check(threshold=threshold, labels=labels, signature=sig)
            reading = readings.get(FAILURE) or readings.get(
                _group_key(labels, threshold), Reading(value=None)
            )
            previous = check.memory()
            memory = judge(
                reading, threshold.rule(), previous, now, min_volume=threshold.metric.min_volume
            )
            if check.pk is None or memory.state != previous.state:
                reason = memory.reason
                edit = edited.get(threshold.pk)
                if check.evaluated_at and edit and edit > check.evaluated_at:
                    # Trust rule 8 (docs/architecture.md): an edit is not a recovery, nor a breach
                    reason = f"{reason}; the levels were edited at {edit:%Y-%m-%d %H:%M} UTC"
                changes.append(
                    StateChange(
                        check_obj=check,
                        at=stamp,
                        from_state=previous.state if check.pk else State.NO_DATA,
                        to_state=memory.state,
                        value=memory.value,
                        warning=threshold.warning,
                        critical=threshold.critical,
                        reason=reason,
                    )
                )
            check.state, check.reason, check.value = memory.state, memory.reason, memory.value
            check.since = datetime.fromtimestamp(memory.since, tz=UTC) if memory.since else stamp
            check.warning_since, check.critical_since = memory.warning_since, memory.critical_since
            check.evaluated_at = stamp
            if memory.value is not None and memory.state not in State.UNKNOWN:
                check.last_value_at = stamp
            to_save.append(check)
    fields = [
        "state",
        "since",
        "value",
        "reason",
        "warning_since",
        "critical_since",
        "evaluated_at",
        "last_value_at",
    ]
    with transaction.atomic():
        # New checks in one statement; known ones with one prepared UPDATE run for all rows.
        # (A save() per check, or bulk_update's CASE expressions, cost seconds at a thousand.)
        Check.objects.bulk_create([c for c in to_save if c.pk is None], batch_size=500)
        _update_checks([c for c in to_save if c.pk is not None], fields)
        StateChange.objects.bulk_create(changes)
        health.record_heartbeat(health.EVALUATION_HEARTBEAT)
    return CycleResult(
        now,
        len(to_save),
        len(changes),
        len(set(jobs)),
        time.perf_counter() - started,
        state_changes=changes,
    )


GroupKey = tuple[tuple[str, str], ...]


def _last_edits() -> dict[int, datetime]:
    """When each threshold's levels were last changed (created, changed or restored)."""
    rows = (
        TuningNote.objects.exclude(kind=TuningKind.NOTE)
        .filter(threshold__isnull=False)
        .values("threshold_id")
        .annotate(last=Max("at"))
    )
    return {row["threshold_id"]: row["last"] for row in rows}


def _group_key(labels: dict[str, str], threshold: Threshold) -> GroupKey:
    return tuple(sorted((k, v) for k, v in labels.items() if k in threshold.metric.group_by))


def _readings(
    threshold: Threshold, results: dict[prometheus.Job, prometheus.QueryResult], now: float
) -> dict[Any, Reading]:
    """Readings by the group labels of each series, or ``FAILURE`` for a failed query."""
    metric = threshold.metric
    scope: dict[str, str] = threshold.scope
    current = results[(metric.query, now)]
    volume = results.get((metric.volume_query, now)) if metric.volume_query else None
    relative_to = threshold.relative_to
    baseline = (
        results.get((metric.query, now - duration_seconds(relative_to))) if relative_to else None
    )
    for result in (current, volume, baseline):
        if result is not None and not result.is_ok:
            return {FAILURE: Reading(error=f"{result.failure}: {result.reason}")}

    def by_group(result: prometheus.QueryResult) -> dict[GroupKey, float]:
        out = {}
        for sample in result.samples:
            if all(sample.labels.get(k) == v for k, v in scope.items()):
                key = tuple(
                    sorted((k, v) for k, v in sample.labels.items() if k in metric.group_by)
                )
                out[key] = sample.value
        return out

    values = by_group(current)
    volumes = by_group(volume) if volume is not None else {}
    baselines = by_group(baseline) if baseline is not None else {}
    readings: dict[Any, Reading] = {}
    for key, value in values.items():
        if relative_to:
            change = relative_change(value, baselines.get(key))
            readings[key] = Reading(value=change)  # None: no baseline to compare with
            continue
        readings[key] = Reading(value=value, volume=volumes.get(key) if volume else None)
    return readings


def _expected_series(
    threshold: Threshold, readings: dict[Any, Reading], known: dict[str, Check]
) -> list[dict[str, str]]:
    """The series to judge: the scope itself (so it exists even without data), every series
    the query returned, and every series judged before (so a vanished one says no_data)."""
    scope: dict[str, str] = dict(threshold.scope)
    series: dict[str, dict[str, str]] = {}
    if scope or not threshold.metric.group_by:
        series[signature("", scope)] = scope
    for key in readings:
        if key == FAILURE:
            continue
        labels = {**scope, **dict(key)}
        series[signature("", labels)] = labels
    for check in known.values():
        series.setdefault(signature("", check.labels), dict(check.labels))
    return list(series.values())


def _update_checks(checks: list[Check], fields: list[str]) -> None:
    if not checks:
        return
    meta = Check._meta
    columns: list[Field[Any, Any]] = [meta.get_field(name) for name in fields]  # type: ignore[misc]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
    # Identifiers come from the model's own metadata, every value is a parameter.
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    rows = [
        [f.get_db_prep_save(getattr(c, f.attname), connection) for f in columns] + [c.pk]
        for c in checks
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
