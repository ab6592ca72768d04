"""One evaluation cycle: query Prometheus for every threshold at once, judge each check with
the rules in ``alerts.evaluation``, store the states and a history row for every change."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, Max, QuerySet

from alerts.choices import TuningKind
from alerts.evaluation import Reading, judge, relative_change
from alerts.models import BUCKETS, Check, StateChange, Threshold, TuningNote, bucket_of
from core.choices import State
from core.promql import duration_seconds
from health import checks as health
from integrations import prometheus

FAILURE = "failure"  # the readings key of a threshold whose query failed


def signature(threshold_key: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{threshold_key}{{{inner}}}"


@dataclass(frozen=True)
class Shard:
    """One part of a cycle split ``count`` ways: the checks whose bucket falls to ``index``."""

    index: int
    count: int

    def owns(self, sig: str) -> bool:
        return bucket_of(sig) % self.count == self.index

    def buckets(self) -> list[int]:
        return list(range(self.index, BUCKETS, self.count))


WHOLE = Shard(0, 1)


@dataclass(frozen=True)
class CycleResult:
    evaluated_at: float
    checks: int
    changes: int
    queries: int
    seconds: float
    # The changes written, for the caller to act on (the task queues their notifications).
    state_changes: list[StateChange] = field(default_factory=list, repr=False)


# What the queries said, per threshold id: readings by group key, or ``FAILURE``.
Readings = dict[int, dict[Any, Reading]]


def evaluate_cycle(now: float | None = None) -> CycleResult:
    """Evaluate every threshold once: all distinct queries in parallel (current values, traffic
    guards, and the aligned past window of relative thresholds), then judge and store each
    check, writing a history row for every change of state."""
    started = time.perf_counter()
    now = now if now is not None else time.time()
    thresholds = list(Threshold.objects.select_related("metric", "alert"))
    readings, queries = read(thresholds, now)
    checks, changes = judge_and_store(thresholds, readings, now, heartbeat=True)
    return CycleResult(
        now, checks, len(changes), queries, time.perf_counter() - started, state_changes=changes
    )


def changes_at(now: float) -> QuerySet[StateChange]:
    """The state changes of the cycle at ``now``: each is stamped with its cycle's moment.
    Without their checks: up to 100,000 rows on a first cycle, and the apps above read the
    checks they need by ``check_obj_id`` (a join here cost a worker 170 MB at 100,000)."""
    return StateChange.objects.filter(at=_stamp(now)).order_by("pk")


def _stamp(now: float) -> datetime:
    return datetime.fromtimestamp(now, tz=UTC)


def read(thresholds: list[Threshold], now: float) -> tuple[Readings, int]:
    """Every threshold's readings at ``now``, and how many distinct queries that took."""
    jobs: list[prometheus.Job] = []
    for threshold in thresholds:
        metric = threshold.metric
        jobs.append((metric.query, now))
        if metric.volume_query:
            jobs.append((metric.volume_query, now))
        if threshold.relative_to:
            jobs.append((metric.query, now - duration_seconds(threshold.relative_to)))
    results = prometheus.instant_queries(jobs)
    return {t.pk: _readings(t, results, now) for t in thresholds}, len(set(jobs))


def judge_and_store(
    thresholds: list[Threshold],
    readings: Readings,
    now: float,
    *,
    shard: Shard = WHOLE,
    heartbeat: bool = False,
) -> tuple[int, list[StateChange]]:
    """Judge the checks of ``shard`` from ``readings`` and store them with a history row for
    every change of state, in one transaction: (checks judged, the changes written)."""
    stamp = _stamp(now)
    to_save: list[Check] = []
    changes: list[StateChange] = []
    by_threshold: dict[int, dict[str, Check]] = {}
    known = Check.objects.filter(threshold__in=[t.pk for t in thresholds])
    if shard.count > 1:
        # the buckets as a list, not ``bucket % count``: the index on bucket then answers
        known = known.filter(bucket__in=shard.buckets())
    for existing in known:
        by_threshold.setdefault(existing.threshold_id, {})[existing.signature] = existing
    edited = _last_edits()
    for threshold in thresholds:
        these = readings.get(threshold.pk, {})
        mine = by_threshold.get(threshold.pk, {})
        for labels in _expected_series(threshold, these, mine):
            sig = signature(threshold.key, labels)
            if sig not in mine and shard.count > 1 and not shard.owns(sig):
                continue
            check = mine.get(sig) or Check(
                threshold=threshold, labels=labels, signature=sig, bucket=bucket_of(sig)
            )
            reading = these.get(FAILURE) or these.get(
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
        if heartbeat:
            health.record_heartbeat(health.EVALUATION_HEARTBEAT)
    return len(to_save), changes


def partition(thresholds: list[Threshold], readings: Readings, count: int) -> list[dict]:
    """``readings`` split ``count`` ways by the bucket of each series' check, as JSON for the
    shard tasks: ``{threshold id: {"failure": reading or None, "series": [[group key, value,
    volume, error]]}}``. A failed query goes to every shard (each has checks to mark)."""
    parts: list[dict] = [{} for _ in range(count)]
    for threshold in thresholds:
        these = readings.get(threshold.pk, {})
        failure = these.get(FAILURE)
        entries: list[dict[str, Any]] = [
            {"failure": _dump(failure) if failure else None, "series": []} for _ in range(count)
        ]
        scope = dict(threshold.scope)
        for key, reading in these.items():
            if key == FAILURE:
                continue
            sig = signature(threshold.key, {**scope, **dict(key)})
            entries[bucket_of(sig) % count]["series"].append([list(key), *_dump(reading)])
        for part, entry in zip(parts, entries, strict=True):
            entry["shape"] = shape_of(threshold)
            part[str(threshold.pk)] = entry
    return parts


def shape_of(threshold: Threshold) -> str:
    """What the readings of a threshold depend on (its queries, scope, grouping, baseline and
    key, which names its checks), as a short digest: a shard judges a threshold only when it
    has the shape its readings were taken for. Its levels may have changed: they apply."""
    metric = threshold.metric
    fields = [
        threshold.key,
        threshold.scope,
        threshold.relative_to,
        metric.query,
        metric.volume_query,
        metric.group_by,
    ]
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def shape_in(part: dict, threshold_id: int) -> str:
    """The shape a threshold had when the readings of ``part`` were taken."""
    return str(part.get(str(threshold_id), {}).get("shape", ""))


def unpartition(part: dict) -> Readings:
    """One shard's readings back from ``partition``'s JSON."""
    readings: Readings = {}
    for threshold_id, entry in part.items():
        these: dict[Any, Reading] = {}  # "shape": see shape_in
        if entry["failure"]:
            these[FAILURE] = _load(entry["failure"])
        for key, *reading in entry["series"]:
            these[tuple((k, v) for k, v in key)] = _load(reading)
        readings[int(threshold_id)] = these
    return readings


def _dump(reading: Reading) -> list:
    return [reading.value, reading.volume, reading.sample_age, reading.error]


def _load(values: list) -> Reading:
    value, volume, sample_age, error = values
    return Reading(value=value, volume=volume, sample_age=sample_age, error=error)


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
    """Store ``fields`` of ``checks``. On PostgreSQL one ``UPDATE … FROM unnest(arrays)``, a
    parameter per column: a statement a row (even prepared and pipelined) costs seconds at
    100,000 checks, and so does a VALUES list of a parameter per cell (the driver parses the
    statement's placeholders one by one). SQLite, in process, runs one prepared UPDATE for
    all rows."""
    if not checks:
        return
    meta = Check._meta
    columns: list[Field[Any, Any]] = [meta.get_field(name) for name in fields]  # type: ignore[misc]
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    # Identifiers and types come from the model's own metadata, every value is a parameter.
    if connection.vendor == "postgresql":
        names = ", ".join([pk, *(quote(f.column) for f in columns)])
        arrays = ", ".join(
            f"%s::{f.db_type(connection)}[]"
            for f in [meta.pk, *columns]  # type: ignore[list-item]
        )
        assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
        sql = (
            f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names}) "  # noqa: S608
            f"WHERE {table}.{pk} = v.{pk}"
        )
        params = [[c.pk for c in checks]] + [
            [getattr(c, f.attname) for c in checks] for f in columns
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608
    rows = [
        [f.get_db_prep_save(getattr(c, f.attname), connection) for f in columns] + [c.pk]
        for c in checks
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
