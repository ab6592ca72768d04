"""Backtest a threshold before saving it: replay the last 30 days of its metric through the
panel's own evaluation (``judge``, with ``for:`` semantics at the evaluation step) for the
current and the proposed levels, and count what each would have done over the last 1, 7 and
30 days: how often it went pending, warning and critical, how long it stayed, how often it
flapped (went back to ok after leaving it)."""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import groupby

from django.conf import settings

from alerts.evaluation import Rule, relative_change
from alerts.models import Threshold
from core.choices import Direction, State
from core.promql import duration_seconds
from integrations import prometheus

WINDOWS = (("1 day", 86_400), ("7 days", 7 * 86_400), ("30 days", 30 * 86_400))
COUNTED = (State.PENDING, State.WARNING, State.CRITICAL)
CHART_POINTS = 1_500
# The change form backtests the current threshold as it opens; the proposals typed next reuse
# the same 30 days of data for a few minutes instead of asking Prometheus again.
CACHE_SECONDS = 300


def backtest_step() -> int:
    """The replay's step: the evaluation interval, but not under a minute (30 days at 15 s
    would be 172,800 points a series for little more truth)."""
    return max(int(settings.EVALUATION_INTERVAL), 60)


@dataclass
class Tally:
    """What one rule did over one window."""

    entered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0.0))
    flaps: int = 0
    no_data_seconds: float = 0.0


@dataclass
class Outcome:
    """The backtest of a threshold: per window, a tally for the current and the proposed rule,
    and the series replayed (for the chart)."""

    windows: list[tuple[str, Tally, Tally]]
    series: list[prometheus.Series]
    step: int
    seconds: float
    error: str = ""


def _series_key(labels: dict[str, str], threshold: Threshold) -> tuple[tuple[str, str], ...]:
    group = threshold.metric.group_by or list(threshold.scope)
    return tuple((name, labels.get(name, "")) for name in group)


def _by_series(
    result: prometheus.RangeResult, threshold: Threshold, shift: float = 0.0
) -> dict[tuple[tuple[str, str], ...], dict[float, float]]:
    out: dict[tuple[tuple[str, str], ...], dict[float, float]] = {}
    for series in result.series:
        if any(series.labels.get(k) != v for k, v in threshold.scope.items()):
            continue
        points = out.setdefault(_series_key(series.labels, threshold), {})
        points.update((t + shift, v) for t, v in series.points)
    return out


def metric_query(threshold: Threshold) -> str:
    """The query a backtest runs: a tier's own series when the metric can ask for them."""
    return threshold.metric.query_for(threshold.scope)


def _fetch(
    threshold: Threshold, start: float, end: float, step: int
) -> dict[str, prometheus.RangeResult]:
    """The metric, its traffic guard and its past window, over the range, in parallel."""
    metric = threshold.metric
    query = metric_query(threshold)
    jobs = {"value": (query, start, end)}
    if metric.volume_query:
        jobs["volume"] = (metric.volume_query, start, end)
    if threshold.relative_to:
        back = duration_seconds(threshold.relative_to)
        jobs["baseline"] = (query, start - back, end - back)
    results = prometheus.range_queries_chunked(
        [(query, a, b, step) for query, a, b in jobs.values()],
        cache_seconds=CACHE_SECONDS,
        timeout=30,
    )
    return dict(zip(jobs, results, strict=True))


def readings(
    times: list[float],
    values: dict[float, float],
    *,
    volumes: dict[float, float] | None = None,
    baselines: dict[float, float] | None = None,
    min_volume: float | None = None,
) -> list[float | None]:
    """What the cycle would compare at each evaluation time: the value (or its change against
    the baseline), ``None`` where it would see no data (missing, NaN, or under the traffic
    guard). Computed once per series and shared by the current and the proposed rule."""
    out: list[float | None] = []
    for t in times:
        value = values.get(t)
        if baselines is not None:
            value = relative_change(value, baselines.get(t))
        if value is None or math.isnan(value) or math.isinf(value):
            out.append(None)
        elif min_volume is not None:
            volume = volumes.get(t) if volumes is not None else None
            out.append(None if volume is None or volume < min_volume else value)
        else:
            out.append(value)
    return out


def replay_readings(times: list[float], compared: list[float | None], rule: Rule) -> list[str]:
    """The state after each evaluation time, as the panel's cycle would have judged it.

    The same decisions as ``judge`` (tests compare the two on random series), without building
    a ``Memory`` per step: a 30-day replay is 43,200 steps a series and rule."""
    above = rule.direction == Direction.ABOVE
    warning, critical = rule.warning, rule.critical
    for_warning, for_critical = rule.for_warning, rule.for_critical
    ok, pending, warned, critical_state, no_data = (
        State.OK,
        State.PENDING,
        State.WARNING,
        State.CRITICAL,
        State.NO_DATA,
    )
    warning_since: float | None = None
    critical_since: float | None = None
    states: list[str] = []
    append = states.append
    for t, value in zip(times, compared, strict=True):
        if value is None:
            warning_since = critical_since = None
            append(no_data)
            continue
        is_critical = critical is not None and (value > critical if above else value < critical)
        is_warning = is_critical or (value > warning if above else value < warning)
        if not is_warning:
            warning_since = critical_since = None
            append(ok)
            continue
        if warning_since is None:
            warning_since = t
        if is_critical:
            if critical_since is None:
                critical_since = t
        else:
            critical_since = None
        if critical_since is not None and t - critical_since >= for_critical:
            append(critical_state)
        elif t - warning_since >= for_warning:
            append(warned)
        else:
            append(pending)
    return states


def tally_windows(
    times: list[float], states: list[str], sinces: list[float], step: int
) -> list[Tally]:
    """What one rule did over each window (since, end], from the runs of equal states: a
    30-day replay is a few runs, not 43,200 steps to walk once per window."""
    runs = []
    index = 0
    for state, group in groupby(states):
        length = sum(1 for _ in group)
        runs.append((state, index, length))
        index += length
    out = []
    for since in sinces:
        first = bisect_right(times, since)
        result = Tally()
        previous = None
        for state, begin, length in runs:
            inside = begin + length - max(begin, first)
            if inside > 0:
                if state in COUNTED:
                    result.seconds[state] += inside * step
                elif state == State.NO_DATA:
                    result.no_data_seconds += inside * step
                if begin >= first:  # the run starts inside the window
                    if state in COUNTED and state != previous:
                        result.entered[state] += 1
                    if state == State.OK and previous in COUNTED:
                        result.flaps += 1
            previous = state
        out.append(result)
    return out


def _merge(tallies: list[Tally]) -> Tally:
    out = Tally()
    for item in tallies:
        for state in COUNTED:
            out.entered[state] += item.entered[state]
            out.seconds[state] += item.seconds[state]
        out.flaps += item.flaps
        out.no_data_seconds += item.no_data_seconds
    return out


def backtest(threshold: Threshold, proposed: Rule, *, now: float | None = None) -> Outcome:
    """Replay the last 30 days for the threshold's current rule and for ``proposed``."""
    started = time.perf_counter()
    step = backtest_step()
    end = step * ((now or time.time()) // step)
    # Replay from earlier by the longest for: so that a breach already held when the 30 days
    # begin counts as it would have (state counts still start at the window).
    current = threshold.rule()
    lead = max(
        current.for_warning, current.for_critical, proposed.for_warning, proposed.for_critical
    )
    start = end - WINDOWS[-1][1] - step * -(-lead // step)
    fetched = _fetch(threshold, start, end, step)
    for result in fetched.values():
        if not result.is_ok:
            reason = f"{result.failure}: {result.reason}"
            return Outcome([], [], step, time.perf_counter() - started, error=reason)
    values = _by_series(fetched["value"], threshold)
    if not values and fetched["value"].series and metric_query(threshold) != threshold.metric.query:
        # series came back, none of them the scope's: the scoped query drops its labels
        reason = (
            f"the metric's scoped query answers without the scope's labels "
            f"({', '.join(sorted(threshold.scope))}); its series must keep them"
        )
        return Outcome([], [], step, time.perf_counter() - started, error=reason)
    volumes = _by_series(fetched["volume"], threshold) if "volume" in fetched else None
    baselines = None
    if "baseline" in fetched:
        back = duration_seconds(threshold.relative_to)
        baselines = _by_series(fetched["baseline"], threshold, shift=back)
    times = [start + i * step for i in range(int((end - start) // step) + 1)]
    sinces = [end - seconds for _, seconds in WINDOWS]
    per_rule: dict[str, list[list[Tally]]] = {"current": [], "proposed": []}
    for key, points in values.items():
        compared = readings(
            times,
            points,
            volumes=volumes.get(key, {}) if volumes is not None else None,
            baselines=baselines.get(key, {}) if baselines is not None else None,
            min_volume=threshold.metric.min_volume,
        )
        for name, rule in (("current", current), ("proposed", proposed)):
            states = replay_readings(times, compared, rule)
            per_rule[name].append(tally_windows(times, states, sinces, step))
    windows = [
        (
            label,
            _merge([tallies[i] for tallies in per_rule["current"]]),
            _merge([tallies[i] for tallies in per_rule["proposed"]]),
        )
        for i, (label, _) in enumerate(WINDOWS)
    ]
    shown = [
        prometheus.Series(
            dict(key),
            _thin(sorted(_compared(points, baselines, key).items()), threshold.direction),
        )
        for key, points in values.items()
    ]
    return Outcome(windows, shown, step, time.perf_counter() - started)


def _compared(
    points: dict[float, float],
    baselines: dict[tuple[tuple[str, str], ...], dict[float, float]] | None,
    key: tuple[tuple[str, str], ...],
) -> dict[float, float]:
    """What the thresholds compare: the value, or its percent change for relative ones."""
    if baselines is None:
        return points
    past = baselines.get(key, {})
    out = {}
    for t, value in points.items():
        change = relative_change(value, past.get(t))
        if change is not None:
            out[t] = change
    return out


def _thin(points: list[tuple[float, float]], direction: str) -> tuple[tuple[float, float], ...]:
    """At most CHART_POINTS points for the chart, keeping each bucket's worst value (highest
    for an upper threshold, lowest for a lower one) so that short breaches stay visible."""
    if len(points) <= CHART_POINTS:
        return tuple(points)
    size = -(-len(points) // CHART_POINTS)
    out = []
    for i in range(0, len(points), size):
        bucket = points[i : i + size]
        worst = max if direction == Direction.ABOVE else min
        out.append(worst(bucket, key=lambda p: p[1]))
    return tuple(out)
