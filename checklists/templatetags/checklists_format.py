from __future__ import annotations

from django import template

from checklists.sla import percent as _percent

register = template.Library()


@register.filter
def share(value: float | None) -> str:
    """A share (0..1) as a percentage with two decimals, or "no data"."""
    return _percent(value)


@register.filter
def points(value: float | None) -> str:
    """A change in percentage points with its sign."""
    return "—" if value is None else f"{value:+.2f} pp"


@register.filter
def hours(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f} h"


@register.filter
def change(tier: object, name: str) -> float | None:
    return tier.change(name)  # type: ignore[attr-defined,no-any-return]
