"""Template filters of the alerts pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template

register = template.Library()


@register.filter
def span(value: timedelta | None) -> str:
    """A duration the way people on call say it: "40 s", "3 min", "2 h 5 min", "3 d 4 h".
    Django's timesince says "0 minutes" for anything under one, which reads as broken."""
    if value is None:
        return "—"
    seconds = max(0, int(value.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        return f"{minutes} min"
    if hours < 24:
        rest = minutes % 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest = hours % 24
    return f"{days} d {rest} h" if rest else f"{days} d"


@register.filter
def span_to(start: datetime | None, end: datetime | None) -> str:
    """``{{ start|span_to:end }}``: the time between two moments, as ``span`` says it."""
    if start is None or end is None:
        return "—"
    return span(end - start)
