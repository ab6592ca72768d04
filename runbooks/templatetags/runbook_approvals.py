"""``{{ moment|ago }}``: a time relative to now as people say it (``core.formatting.ago``);
a run's status as a badge class; a time-to-live as a span."""

from __future__ import annotations

from datetime import timedelta

from django import template

from core import formatting

register = template.Library()

register.filter("ago", formatting.ago)  # the one way of saying it (core.formatting)


# Statuses the stylesheet has no colour of its own for, shown in their nearest one's.
_STATUS_LOOK = {"refused": "failed", "expired": "cancelled"}


@register.filter
def status_class(status: str) -> str:
    """``state-<status>`` for a run's badge."""
    return f"state-{status} state-{_STATUS_LOOK.get(status, status)}"


@register.filter
def ttl_span(seconds: int | float | None) -> str:
    """Seconds as a span: 3600 → "1 h"."""
    if seconds is None:
        return "—"
    return formatting.span(timedelta(seconds=seconds))
