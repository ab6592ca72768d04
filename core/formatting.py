"""Numbers as people read them: values in their unit, durations, shares and changes.

The one place for it: templates (through ``core/templatetags/formatting.py``), notifications,
checklist evidence, the exported rules' annotations and the admin all format here.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.utils import timezone

from core.choices import Unit

MISSING = "—"
# Suffixes of an exact level (rule annotations): the unit as Prometheus users write it.
UNIT_SUFFIX: dict[str, str] = {Unit.PERCENT: " %", Unit.RPS: " req/s", Unit.USD: " USD"}


def with_unit(value: float | None, unit: str) -> str:
    """A value in its unit, rounded for reading: "236 ms", "12.5 %", "$23,790"."""
    if value is None:
        return MISSING
    if unit == Unit.SECONDS:
        return f"{value * 1000:,.0f} ms" if abs(value) < 10 else f"{value:,.0f} s"
    if unit == Unit.PERCENT:
        return f"{value:,.1f} %"
    if unit == Unit.RPS:
        return f"{value:,.1f} req/s"
    if unit == Unit.USD:
        return f"${value:,.0f}"
    if unit == Unit.COUNT:
        return f"{value:,.0f}"
    if unit == Unit.PER_HOUR:
        return f"{value:,.0f} /h"
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
    if unit == Unit.PERCENT:
        return f"{value:.1f} %"
    if unit == Unit.SECONDS:
        return f"{value * 1000:.0f} ms" if value < 10 else age(value)
    if unit == Unit.USD:
        return f"${value:,.0f}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def exact_number(value: float) -> str:
    """A level as PromQL reads it back exactly (``:g`` would round 1234567.5 to 1.23457e+06)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def exact_level(value: float, unit: str, relative: bool) -> str:
    """A level in a rule's annotation, exact: "250 ms", "90 s", "5 min", "26 h", "2.5 %"."""
    if relative:
        return f"{exact_number(value)} %"
    if unit == Unit.SECONDS:
        for limit, divisor, name in ((1, 0.001, "ms"), (120, 1, "s"), (7200, 60, "min")):
            if value < limit:
                return f"{value / divisor:g} {name}"
        return f"{value / 3600:g} h"
    return f"{exact_number(value)}{UNIT_SUFFIX.get(unit, '')}"
