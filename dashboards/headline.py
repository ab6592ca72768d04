"""The headline of a tile (the "stat" panel every dashboard user knows): a metric's value now,
large and in its unit, its change against the start of the chosen range, coloured by whether
that change is good news for this metric, and a sparkline of the range.

Pure functions from Prometheus's answers to what the tile shows; the dashboard view asks
Prometheus (an instant query now and one a range ago, beside the chart's range query) and
caches the result with the charts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from django.utils import timezone

from core import formatting, units
from core.choices import Better, Unit
from integrations.prometheus import QueryResult, Sample, Series

# What the change is against, by range: the start of the range, said the way people say it.
COMPARISONS = {
    "1h": "vs 1 h ago",
    "6h": "vs 6 h ago",
    "24h": "vs a day ago",
    "7d": "week over week",
    "30d": "month over month",
    "90d": "quarter over quarter",
}
# Units whose series add up to a meaningful whole (tenants per tier → tenants).
ADDITIVE = (Unit.COUNT, Unit.USD, Unit.RPS, Unit.PER_HOUR)
# Shares change in percentage points: churn from 10 % to 12 % is "+2.0 pp", not "+20 %".
IN_POINTS = (Unit.PERCENT, Unit.RATIO)
# A change smaller than this (relative, or in points) reads as "no change".
FLAT = 0.05
PARTS_SHOWN = 3
SPARK_POINTS = 60
SPARK_WIDTH, SPARK_HEIGHT = 120.0, 28.0


@dataclass(frozen=True)
class Part:
    name: str
    value: float


@dataclass(frozen=True)
class Headline:
    value: float | None
    unit: str
    at: float = 0.0  # the Unix time of the value (the instant query's): what to compare it with
    how: str = ""  # "Total of 3", "Highest of 10" (the parts name them); "" for one series
    change: str = ""  # "+3.1 %", "-1.2 pp", "" when there is nothing to compare with
    arrow: str = ""  # ▲ ▼ or = (the sign in a shape, not only in colour)
    tone: str = "neutral"  # good, bad or neutral news for this metric
    comparison: str = ""  # "week over week"; "no value a week ago" when missing
    parts: tuple[Part, ...] = ()
    spark: str = ""  # an SVG polyline's points
    spark_label: str = ""  # the sparkline in words, for screen readers
    problem: str = ""  # why there is no value: Prometheus's failure, or "no data"
    series: int = 0  # how many series answer now (a chart draws the worst ten of them)


def series_name(labels: dict[str, str], group_by: Sequence[str]) -> str:
    """A series by the labels it is grouped by (the tier, the feature), else by all its own."""
    shown = [labels[name] for name in group_by if name in labels]
    if not shown:
        shown = [v for k, v in sorted(labels.items()) if k not in ("__name__", "job")]
    return ", ".join(shown) or "value"


def _summary(
    samples: Sequence[Sample], unit: str, group_by: Sequence[str]
) -> tuple[float, str, str | None]:
    """(the headline value, how it was made, the series it follows or None for a sum)."""
    if len(samples) == 1:
        return samples[0].value, "", None
    if unit in ADDITIVE:
        return sum(s.value for s in samples), f"Total of {len(samples):,}", None
    top = max(samples, key=lambda s: s.value)
    name = series_name(top.labels, group_by)
    return top.value, f"Highest of {len(samples):,}", name


def _change(now: float, before: float, unit: str) -> tuple[str, float]:
    """The change in words, and its size for the flat test: relative (in %), in points, or
    for a change from zero in the display unit (0 to 40 ms is 40, not 0.04)."""
    if unit in IN_POINTS:
        points = (now - before) * (100 if unit == Unit.RATIO else 1)
        return f"{points:+.1f} pp", points
    if before > 0 and now >= 0:
        relative = (now - before) / before * 100
        return formatting.signed_percent(relative), relative
    # from zero or across a sign: a relative change means nothing; say the difference
    difference = now - before
    sign = "+" if difference >= 0 else "-"
    return f"{sign}{formatting.with_unit(abs(difference), unit)}", units.to_display(
        difference, unit
    )


def _tone(size: float, better: str) -> tuple[str, str]:
    if abs(size) < FLAT:
        return "=", "neutral"
    arrow = "▲" if size > 0 else "▼"
    if better == Better.NEUTRAL:
        return arrow, "neutral"
    good = (size > 0) == (better == Better.UP)
    return arrow, "good" if good else "bad"


def _spark(points: Sequence[tuple[float, float]]) -> str:
    """At most ``SPARK_POINTS`` points scaled into the sparkline's box (higher is up)."""
    if len(points) < 2:
        return ""
    stride = max(1, -(-len(points) // SPARK_POINTS))
    picked = list(points[::stride])
    if picked[-1] != points[-1]:
        picked.append(points[-1])
    t0, t1 = picked[0][0], picked[-1][0]
    values = [v for _, v in picked]
    low, high = min(values), max(values)
    spread = (high - low) or 1.0
    span = (t1 - t0) or 1.0
    return " ".join(
        f"{(t - t0) / span * SPARK_WIDTH:.1f},"
        f"{SPARK_HEIGHT - 2 - (v - low) / spread * (SPARK_HEIGHT - 4):.1f}"
        for t, v in picked
    )


def _trend_points(
    series: Sequence[Series], follows: str | None, group_by: Sequence[str]
) -> list[tuple[float, float]]:
    """The sparkline's line: the one series, the series the headline follows, or the sum."""
    if len(series) == 1:
        return list(series[0].points)
    if follows is not None:
        for item in series:
            if series_name(item.labels, group_by) == follows:
                return list(item.points)
        return []
    totals: dict[float, float] = {}
    for item in series:
        for at, value in item.points:
            totals[at] = totals.get(at, 0.0) + value
    return sorted(totals.items())


def _finite(answer: QueryResult) -> QueryResult:
    kept = tuple(s for s in answer.samples if math.isfinite(s.value))
    return answer if len(kept) == len(answer.samples) else replace(answer, samples=kept)


def _day(timestamp: float) -> str:
    moment = timezone.localtime(datetime.fromtimestamp(timestamp, UTC))
    return f"{moment:%b} {moment.day}, {moment:%H:%M}"


def headline(
    *,
    unit: str,
    better: str,
    group_by: Sequence[str],
    now: QueryResult,
    before: QueryResult,
    trend: Sequence[Series],
    range_key: str,
    at: float = 0.0,
) -> Headline:
    """The tile's headline from the instant answers at ``at`` (now) and a range before, and
    the range's series (for the sparkline)."""
    if not now.is_ok:
        return Headline(None, unit, at, problem=f"{now.failure}: {now.reason}")
    # a ratio over no traffic is NaN: no value, not a change (range queries drop them too)
    now = _finite(now)
    before = _finite(before)
    if not now.samples:
        return Headline(None, unit, at, problem="no data now")
    value, how, follows = _summary(now.samples, unit, group_by)
    parts: tuple[Part, ...] = ()
    if len(now.samples) > 1:
        ranked = sorted(now.samples, key=lambda s: -s.value)[:PARTS_SHOWN]
        parts = tuple(Part(series_name(s.labels, group_by), s.value) for s in ranked)
    comparison = COMPARISONS.get(range_key, f"vs {range_key} ago")
    then: float | None = None
    if before.is_ok and before.samples:
        if follows is None:
            then = _summary(before.samples, unit, group_by)[0]
        else:
            same = [s for s in before.samples if series_name(s.labels, group_by) == follows]
            then = same[0].value if same else None
    points = _trend_points(trend, follows, group_by)
    if then is None and not before.is_ok:
        comparison = f"the value {range_key} ago could not be read ({before.failure})"
    elif then is None and points:
        # Prometheus holds less than the range (a young history): compare with its oldest
        # point in the range, and say from when
        then = points[0][1]
        comparison = f"since {_day(points[0][0])}, the oldest data in range"
    change, arrow, tone = "", "", "neutral"
    if then is None and before.is_ok:
        comparison = f"no value {range_key} ago to compare with"
    elif then is not None:
        change, size = _change(value, then, unit)
        arrow, tone = _tone(size, better)
        if arrow == "=":
            change = "no change"
    spark_label = ""
    if len(points) >= 2:
        low, high = min(v for _, v in points), max(v for _, v in points)
        spark_label = (
            f"Trend over {range_key}: from {formatting.with_unit(points[0][1], unit)} to "
            f"{formatting.with_unit(points[-1][1], unit)}, lowest "
            f"{formatting.with_unit(low, unit)}, highest {formatting.with_unit(high, unit)}"
        )
    return Headline(
        value,
        unit,
        at,
        how=how,
        change=change,
        arrow=arrow,
        tone=tone,
        comparison=comparison,
        parts=parts,
        spark=_spark(points),
        spark_label=spark_label,
        series=len(now.samples),
    )
