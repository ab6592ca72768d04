"""Threshold evaluation: from the values Prometheus returned to the state of each check.

Pure functions over plain data, so that the rules that make a panel trustworthy can be tested
one by one (docs/architecture.md, trust rules 1-7):

* missing data is ``no_data`` with the age of the last sample, never OK;
* a datasource error is ``error`` with its reason, neither a breach nor OK;
* a series that vanishes while breached becomes ``no_data``, it does not "recover";
* sustained-for means what Prometheus's ``for:`` means: ``pending`` until the breach held;
* a ratio with a zero or tiny denominator (NaN, Inf, too little traffic) is ``no_data``;
* a relative threshold compares aligned windows of equal length and keeps the sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from core.choices import COMPARATOR, Direction, Severity, State


@dataclass(frozen=True)
class Rule:
    """What a check compares: direction, the two levels, and how long each must hold."""

    direction: str
    warning: float
    critical: float | None
    for_warning: float  # seconds
    for_critical: float  # seconds

    def breached(self, value: float) -> str | None:
        """The most severe level the value is past, or None."""

        def past(level: float) -> bool:
            return value > level if self.direction == Direction.ABOVE else value < level

        if self.critical is not None and past(self.critical):
            return Severity.CRITICAL
        if past(self.warning):
            return Severity.WARNING
        return None


@dataclass(frozen=True)
class Memory:
    """What a check remembers between evaluations: its state, since when, and since when each
    level has been breached without interruption (Prometheus's pending timer)."""

    state: str = State.NO_DATA
    since: float | None = None
    warning_since: float | None = None
    critical_since: float | None = None
    value: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class Reading:
    """One evaluation's input for one check: a value, or why there is none."""

    value: float | None = None
    sample_age: float | None = None  # seconds since the newest sample behind the value
    volume: float | None = None  # traffic behind a ratio, when the metric has a guard
    error: str = ""


def judge(
    reading: Reading,
    rule: Rule,
    previous: Memory,
    now: float,
    *,
    min_volume: float | None = None,
    staleness: float = 300.0,
) -> Memory:
    """The check's memory after this evaluation."""
    if reading.error:
        return _become(previous, State.ERROR, now, None, f"datasource error: {reading.error}")
    missing = _why_no_data(reading, min_volume, staleness)
    if missing:
        if previous.state in State.BREACHED:
            missing = f"{missing} (was {previous.state}: not a recovery)"
        return _become(previous, State.NO_DATA, now, reading.value, missing)
    assert reading.value is not None
    value = reading.value
    level = rule.breached(value)
    warning_since: float | None = None
    if level:
        warning_since = now if previous.warning_since is None else previous.warning_since
    critical_since: float | None = None
    if level == Severity.CRITICAL:
        critical_since = now if previous.critical_since is None else previous.critical_since
    if critical_since is not None and now - critical_since >= rule.for_critical:
        state = State.CRITICAL
    elif warning_since is not None and now - warning_since >= rule.for_warning:
        state = State.WARNING
    elif level:
        state = State.PENDING
    else:
        state = State.OK
    threshold = rule.critical if level == Severity.CRITICAL else rule.warning
    reason = (
        (f"{value:.4g} {COMPARATOR[rule.direction]} {threshold:g} ({level})")
        if level
        else "inside every threshold"
    )
    memory = _become(previous, state, now, value, reason)
    return replace(memory, warning_since=warning_since, critical_since=critical_since)


def _why_no_data(reading: Reading, min_volume: float | None, staleness: float) -> str:
    value = reading.value
    if value is None:
        return "the query returned nothing"
    if math.isnan(value) or math.isinf(value):
        return "no meaningful value (a ratio over zero traffic)"
    if reading.sample_age is not None and reading.sample_age > staleness:
        return f"the newest sample is {reading.sample_age:.0f}s old"
    if min_volume is not None and (reading.volume is None or reading.volume < min_volume):
        volume = "no" if reading.volume is None else f"{reading.volume:.3g}"
        return f"too little traffic to judge ({volume} < {min_volume:g})"
    return ""


def _become(previous: Memory, state: str, now: float, value: float | None, reason: str) -> Memory:
    since = previous.since if previous.state == state and previous.since is not None else now
    return Memory(state=state, since=since, value=value, reason=reason)


def relative_change(current: float | None, baseline: float | None) -> float | None:
    """Percent change from the baseline window, sign kept (-12.5 means 12.5 % below). A
    baseline of zero or nothing gives no value."""
    if current is None or baseline is None or baseline == 0 or math.isnan(baseline):
        return None
    return (current / baseline - 1) * 100
