"""Values with their units, as a person reads them."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def with_unit(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "seconds":
        return f"{value * 1000:,.0f} ms" if abs(value) < 10 else f"{value:,.0f} s"
    if unit == "percent":
        return f"{value:,.1f} %"
    if unit == "rps":
        return f"{value:,.1f} req/s"
    if unit == "usd":
        return f"${value:,.0f}"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "per_hour":
        return f"{value:,.0f} /h"
    return f"{value:,.3g}"


@register.filter
def relative_unit(value: float | None) -> str:
    """A relative threshold's value: a signed percent change."""
    return "—" if value is None else f"{value:+.1f} %"


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as a short duration: 0s, 45s, 5m, 2h 10m, 3d 4h."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [(days, "d"), (hours, "h"), (minutes, "m")]
    shown = [f"{n}{u}" for n, u in parts if n][:2]
    return " ".join(shown)
