"""One display unit per quantity, from the form to the chart to the exported rule.

Values are stored and queried in Prometheus's base unit (seconds, ratios 0..1, dollars); people
read and type them in the display unit of the metric's unit: latency in milliseconds, a ratio in
percent, an age as a duration like ``26h``. Every screen that shows or takes a value converts
here, so "0.2" (seconds) never sits beside "236 ms".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from core.choices import Unit
from core.promql import duration_seconds


@dataclass(frozen=True)
class DisplayUnit:
    """How a unit is shown: ``display = base * scale``, written with ``symbol``. Values outside
    ``plausible`` (in the display unit) are asked about before they are saved."""

    symbol: str  # beside a field and on a chart's axis: "ms", "%", "h"
    scale: float
    plausible: tuple[float | None, float | None] = (None, None)
    plausible_text: str = ""  # the bounds in words, for the question
    is_duration: bool = False  # typed and shown as a Prometheus duration, "26h"
    quantity: str = "this unit"  # what a value is, in the question: "unusual for a latency"


# The levels of a relative threshold are percent changes against a past window, whatever the
# metric's unit: -10 means 10 % below. Not a ``Unit`` of a metric, only of such levels.
PERCENT_CHANGE = "percent_change"

DISPLAY: dict[str, DisplayUnit] = {
    # a latency of ten seconds or more is nearly always seconds typed as milliseconds' place
    Unit.SECONDS: DisplayUnit(
        "ms", 1000.0, (0, 10_000), "between 0 and 10,000 ms", quantity="a latency"
    ),
    # bounds in the display scale (hours): a backup or a job older than a quarter is a typo
    Unit.DURATION: DisplayUnit(
        "h", 1 / 3600, (0, 90 * 24), "at most 90 days", True, quantity="an age"
    ),
    Unit.PERCENT: DisplayUnit("%", 1.0, (0, 100), "between 0 and 100 %", quantity="a percentage"),
    Unit.RATIO: DisplayUnit("%", 100.0, (0, 100), "between 0 and 100 %", quantity="a ratio"),
    Unit.RPS: DisplayUnit("req/s", 1.0, (0, None), "not negative", quantity="a request rate"),
    Unit.USD: DisplayUnit("USD", 1.0, quantity="an amount"),
    Unit.COUNT: DisplayUnit("", 1.0, (0, None), "not negative", quantity="a count"),
    Unit.PER_HOUR: DisplayUnit("per hour", 1.0, (0, None), "not negative", quantity="a rate"),
    # a fall of more than 100 % is below zero, which no metric of the panel can reach
    PERCENT_CHANGE: DisplayUnit(
        "%", 1.0, (-100, None), "not below -100 %", quantity="a percent change"
    ),
}
PLAIN = DisplayUnit("", 1.0)


def display_unit(unit: str) -> DisplayUnit:
    return DISPLAY.get(unit, PLAIN)


def level_unit(unit: str, relative: bool) -> str:
    """The unit a threshold's levels are typed and shown in: the metric's, or a percent change
    for a relative threshold."""
    return PERCENT_CHANGE if relative else unit


def to_display(value: float, unit: str) -> float:
    """A stored value (base unit) in the display unit: 0.25 s → 250 (ms), 0.105 → 10.5 (%).
    Durations give hours (a chart's axis); ``input_text`` gives their typed form."""
    return value * display_unit(unit).scale


def from_display(value: float, unit: str) -> float:
    """A value in the display unit back in the base unit: 250 (ms) → 0.25."""
    result = value / display_unit(unit).scale
    # 0.29 % / 100 is 0.0029000000000000002 in floats: keep the digits the person typed
    return float(f"{result:.12g}")


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_input(text: str, unit: str) -> float:
    """What a person typed in the display unit, as the base unit. A duration takes "26h",
    "90m", "1d2h" (a bare number is hours); other units a plain number, with the unit's own
    symbol allowed after it ("250 ms", "2.5 %"). Raises ``ValueError`` with the reason."""
    shown = display_unit(unit)
    text = text.strip().replace(",", "")
    if shown.is_duration:
        text = text.replace(" ", "")  # "26 h", as a screen may say it
        if _NUMBER.match(text):
            return float(text) * 3600
        try:
            return duration_seconds(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a duration like 90m, 26h or 2d") from None
    if shown.symbol and text.endswith(shown.symbol):
        text = text[: -len(shown.symbol)].strip()
    if not _NUMBER.match(text):
        suffix = f" in {shown.symbol}" if shown.symbol else ""
        raise ValueError(f"{text!r} is not a number{suffix}")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("give a finite number")
    return from_display(value, unit)


def input_text(value: float | None, unit: str) -> str:
    """A stored value as a form shows it for editing, exactly (it must save back unchanged):
    0.25 → "250", 93600 → "26h", 0.105 → "10.5"."""
    if value is None:
        return ""
    if display_unit(unit).is_duration:
        return duration_text(value)
    shown = to_display(value, unit)
    return f"{shown:.12g}"


def duration_text(seconds: float) -> str:
    """Seconds as an exact Prometheus duration: 93600 → "26h", 5400 → "1h30m", 90 → "1m30s".
    Days are kept as hours up to three days ("26h" reads better than "1d2h")."""
    if seconds < 0:
        return f"-{duration_text(-seconds)}"
    whole = int(seconds)
    if whole != seconds:
        millis = (seconds - whole) * 1000
        if float(f"{millis:.9g}").is_integer():  # "1s500ms" is a duration; "1.5s" is not
            return (duration_text(whole) if whole else "") + f"{round(millis)}ms"
        return f"{seconds:g}s"
    if whole == 0:
        return "0s"
    days, rest = divmod(whole, 86400)
    if days < 3:
        days, rest = 0, whole
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(
        f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n
    )


def implausible(value: float, unit: str) -> str:
    """Why a stored value (base unit) is implausible for its unit, or "": a latency of 250 s,
    a percentage over 100."""
    shown = display_unit(unit)
    low, high = shown.plausible
    display = to_display(value, unit)
    if (low is not None and display < low) or (high is not None and display > high):
        return f"usually {shown.plausible_text}"
    return ""
