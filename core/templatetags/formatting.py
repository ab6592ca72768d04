"""Template filters for values, durations and shares: thin names over ``core.formatting``."""

from __future__ import annotations

from datetime import datetime

from django import template

from core import formatting

register = template.Library()

register.filter("with_unit", formatting.with_unit)
register.filter("relative_unit", formatting.signed_percent)
register.filter("duration", formatting.duration)
register.filter("span", formatting.span)
register.filter("share", formatting.share)
register.filter("points", formatting.points)
register.filter("hours", formatting.hours)
register.filter("ago", formatting.ago)
register.filter("held_for", formatting.held_for)


@register.filter
def span_to(start: datetime | None, end: datetime | None) -> str:
    """``{{ start|span_to:end }}``: the time between two moments, as ``span`` says it."""
    if start is None or end is None:
        return formatting.MISSING
    return formatting.span(end - start)
