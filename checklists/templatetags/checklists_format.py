"""Template filters of the checklist pages that are not formatting (that is ``formatting``)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def change(tier: object, name: str) -> float | None:
    return tier.change(name)  # type: ignore[attr-defined,no-any-return]
