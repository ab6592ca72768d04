"""Numbers as people read them: values in their unit, durations, shares and changes.

The one place for it: templates (through ``core/templatetags/formatting.py``), notifications,
checklist evidence, the exported rules' annotations and the admin all format here.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from core import units
from core.choices import Unit

MISSING = "—"


def _number(value: float, digits: int) -> str:
    """Rounded to ``digits`` decimals, with thousands separators and no trailing zeros."""
    text = f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _reading_duration(seconds: float) -> str:
    """An age rounded for reading, written as the form takes it: "26h", "6h36m", "45s"."""
    step = 60 if abs(seconds) >= 3600 else 1
    return units.duration_text(round(seconds / step) * step)


def with_unit(value: float | None, unit: str) -> str:
    """A value in its unit's display unit, rounded for reading: "236 ms" (a latency is always
    in ms), "10.5 %" (a ratio of 0.105), "26h" (an age), "$23,790", "-12.5 %" (a change)."""
    if value is None:
        return MISSING
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if unit == Unit.SECONDS:
        ms = value * 1000
        return f"{_number(ms, 0 if abs(ms) >= 10 else 1)} ms"
    if unit == Unit.DURATION:
        return _reading_duration(value)
    if unit in (Unit.PERCENT, Unit.RATIO):
        return f"{units.to_display(value, unit):,.1f} %"
    if unit == units.PERCENT_CHANGE:
        return signed_percent(value)
    if unit == Unit.RPS:
        return f"{value:,.1f} req/s"
    if unit == Unit.USD:
        return f"${value:,.0f}"
    if unit == Unit.COUNT:
        return f"{value:,.0f}"
    if unit == Unit.PER_HOUR:
        return f"{value:,.0f} per hour"
    return f"{value:,.3g}"


def signed_percent(value: float | None, digits: int = 1) -> str:
    """A relative change with its sign: "+3.1 %", "-18.3 %"."""
    return MISSING if value is None else f"{value:+.{digits}f} %"


def share(value: float | None, digits: int = 2) -> str:
    """A share (0..1) as a percentage, or "no data"."""
    return "no data" if value is None else f"{value * 100:.{digits}f} %"


def points(value: float | None) -> str:
    """A change in percentage points with its sign."""
    return MISSING if value is None else f"{value:+.2f} pp"


def hours(seconds: float | None) -> str:
    return MISSING if seconds is None else f"{seconds / 3600:.1f} h"


def duration(seconds: float | None) -> str:
    """Seconds as a compact duration for tiles and tables: 0s, 45s, 5m, 2h 10m, 3d 4h."""
    if seconds is None:
        return MISSING
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    days, rest = divmod(total, 86400)
    hours_, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [(days, "d"), (hours_, "h"), (minutes, "m")]
    return " ".join([f"{n}{u}" for n, u in parts if n][:2])


def span(value: timedelta | None) -> str:
    """A duration the way people on call say it: "40 s", "3 min", "2 h 5 min", "3 d 4 h".
    Django's timesince says "0 minutes" for anything under one, which reads as broken."""
    if value is None:
        return MISSING
    seconds = max(0, int(value.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours_, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        return f"{minutes} min"
    if hours_ < 24:
        rest = minutes % 60
        return f"{hours_} h {rest} min" if rest else f"{hours_} h"
    rest = hours_ % 24
    return f"{days} d {rest} h" if rest else f"{days} d"


# Under a minute either way a moment is "just now": the pages refresh every few seconds, and
# "12 s ago" ticking up reads as noise.
JUST_NOW = 60


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """A moment relative to now, as people say it: "just now", "3 min ago", "2 h 5 min ago",
    "in 57 min" (never Django's "0 minutes")."""
    if moment is None:
        return MISSING
    now = now or timezone.now()
    seconds = (now - moment).total_seconds()
    if abs(seconds) < JUST_NOW:
        return "just now"
    if seconds > 0:
        return f"{span(now - moment)} ago"
    # up to the next whole second: a request made a moment ago expires "in 1 h", not "in 59 min"
    return f"in {span(timedelta(seconds=math.ceil(-seconds)))}"


def held_for(since: datetime | None, now: datetime | None = None) -> str:
    """How long a state has held: "just now" under a minute, then "for 3 min", "for 2 h"."""
    if since is None:
        return MISSING
    now = now or timezone.now()
    if (now - since).total_seconds() < JUST_NOW:
        return "just now"
    return f"for {span(now - since)}"


def age(seconds: float | None) -> str:
    """An age or limit in evidence, to a tenth where whole units would hide it: "9 s",
    "14 min", "19.7 h", "2.5 days"."""
    if seconds is None:
        return MISSING
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def reading(value: float | None, unit: str = "") -> str:
    """A value in evidence: like ``with_unit`` but two decimals for small plain numbers."""
    if value is None:
        return "no data"
    if unit in units.DISPLAY:
        return with_unit(value, unit)
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def exact_number(value: float) -> str:
    """A level as PromQL reads it back exactly (``:g`` would round 1234567.5 to 1.23457e+06)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def exact_level(value: float, unit: str, relative: bool = False) -> str:
    """A level exactly, in its display unit, as the form takes it with the unit after it: "250
    ms", "26h", "10.5 %", "-10 %" (a relative threshold's percent change), "5,000 USD". Rule
    annotations, the admin's lists and diffs and the history pages say levels so."""
    unit = units.level_unit(unit, relative)
    text = units.input_text(value, unit)
    shown = units.display_unit(unit)
    if shown.is_duration:
        return text
    return f"{_grouped(text)} {shown.symbol}".rstrip()


def _grouped(number: str) -> str:
    """Thousands separators in an exact number as ``input_text`` writes it ("1,000", not
    "1000"); the form reads them back."""
    if "e" in number or "inf" in number or "nan" in number:
        return number
    sign, digits = ("-", number[1:]) if number.startswith("-") else ("", number)
    whole, dot, fraction = digits.partition(".")
    return f"{sign}{int(whole):,}{dot}{fraction}"


def level(value: float | None, unit: str) -> str:
    """``exact_level`` for a level that may be missing (a threshold without a critical)."""
    return MISSING if value is None else exact_level(value, unit)


def unusual(value: float, unit: str) -> str:
    """Why a level (base unit) needs a second look, or "": "250,000 ms is unusual for a
    latency (usually between 0 and 10,000 ms)"."""
    why = units.implausible(value, unit)
    if not why:
        return ""
    shown = units.display_unit(unit)
    if shown.is_duration:
        typed = units.duration_text(value)
    else:
        typed = f"{units.to_display(value, unit):,.12g} {shown.symbol}".rstrip()
    return f"{typed} is unusual for {shown.quantity} ({why})"


# How the evaluation (alerts/evaluation.py, pure and unit-free) words a breach: the value, the
# comparison and the level passed, in base units: "0.2357 > 0.2 (warning)".
_BREACH = re.compile(
    r"^(?P<value>[-+]?(?:\d[\d.]*(?:e[-+]?\d+)?|inf|nan)) (?P<sign>[<>]) "
    r"(?P<level>[-+]?\d[\d.]*(?:e[-+]?\d+)?)(?P<rest>( \((?:warning|critical)\))?.*)$",
    re.DOTALL,
)


def reason(text: str | None, unit: str) -> str:
    """A check's reason in the display unit of its levels (``units.level_unit``): "0.2357 >
    0.2 (warning)" reads "236 ms > 200 ms (warning)". Reasons without a level are as written."""
    if not text:
        return text or ""
    match = _BREACH.match(text)
    if match is None:
        return text
    try:
        value, threshold = float(match["value"]), float(match["level"])
    except ValueError:
        return text
    return f"{with_unit(value, unit)} {match['sign']} {exact_level(threshold, unit)}{match['rest']}"


LEVEL_FIELDS = ("warning", "critical")


def recorded_value(name: str, value: Any, unit: str | None, values: dict[str, Any]) -> str:
    """One value of a threshold's recorded version (``values``) as the form shows it: a level
    in its display unit ("200 ms", "26h"; a percent change when that version is relative), a
    window or sustained-for as typed, "none" for no relative window."""
    if value is None or value == "":
        return "none" if name == "relative_to" else MISSING
    if name in LEVEL_FIELDS and unit is not None and isinstance(value, int | float):
        return exact_level(float(value), unit, bool(values.get("relative_to")))
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)


def value_changes(
    before: dict[str, Any], after: dict[str, Any], unit: str | None
) -> list[tuple[str, str, str]]:
    """(field, before, after) for every value a tuning change changed, in the display unit of
    the threshold's metric (``unit``; None for an alert's fields): the tuning history, the
    admin's list of notes and a chart's tuning markers say "warning 200 ms → 250 ms"."""
    return [
        (
            name,
            recorded_value(name, before.get(name), unit, before),
            recorded_value(name, after.get(name), unit, after),
        )
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]
