"""Template filters for values, durations and shares: thin names over ``core.formatting``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from core import formatting, units

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
register.filter("level", formatting.level)
register.filter("reason", formatting.reason)


@register.filter
def unit_symbol(unit: str) -> str:
    """``{{ unit|unit_symbol }}``: what a value in ``unit`` is written with ("ms", "%")."""
    return units.display_unit(unit).symbol


@register.filter
def level_unit(threshold: Any) -> str:
    """``{{ check.threshold|level_unit }}``: the unit its levels, values and reasons are shown
    in: the metric's, or a percent change for a relative threshold."""
    return units.level_unit(threshold.metric.unit, bool(threshold.relative_to))


@register.filter
def span_to(start: datetime | None, end: datetime | None) -> str:
    """``{{ start|span_to:end }}``: the time between two moments, as ``span`` says it."""
    if start is None or end is None:
        return formatting.MISSING
    return formatting.span(end - start)
