"""Messages about state changes: which changes deserve one, what it says, how severe it is.
Delivery itself (channels, routing, email, chat) is the notifications app's."""

from __future__ import annotations

import time
from collections.abc import Sequence

from django.conf import settings
from django.urls import reverse

from alerts.models import StateChange
from core import formatting, units
from core.choices import COMPARATOR, Severity, State
from notifications import delivery
from notifications.delivery import Message
from notifications.models import Notification

# Seconds one batch may spend delivering: below CELERY_TASK_SOFT_TIME_LIMIT (120 s), so that
# attempts left when it is spent are recorded as failed instead of cut off unrecorded.
BATCH_BUDGET = 90.0


def should_notify(from_state: str, to_state: str) -> bool:
    """Into a breach, anything out of critical, and a breach ending: back to ok (a recovery)
    or to no_data / error, because a series that vanishes while breached must not look like
    a recovery by saying nothing (docs/architecture.md, trust rule 3). Changes that never were a
    breach (ok <-> pending, no_data -> ok, ...) stay quiet: they are history, not news."""
    if from_state == to_state:
        return False
    if to_state in State.BREACHED or from_state == State.CRITICAL:
        return True
    return from_state in State.BREACHED and to_state in (State.OK, *State.UNKNOWN)


def severity_of(change: StateChange) -> str:
    """The worse end of the change: leaving critical matters to the critical-only channel
    that was told it entered critical."""
    if State.CRITICAL in (change.from_state, change.to_state):
        return Severity.CRITICAL
    return Severity.WARNING


def compose(change: StateChange) -> Message:
    """Subject and body of a change, the same text for every channel: what fired, where, how
    far past which level, why, and the link to the check's history."""
    check = change.check_obj
    threshold = check.threshold
    metric, alert = threshold.metric, threshold.alert
    scope = ", ".join(f"{k}={v}" for k, v in sorted(check.labels.items()))
    transition = f"{change.from_state} -> {change.to_state}"
    to_state = State(change.to_state)
    headline = "RESOLVED" if to_state == State.OK else to_state.label.upper()
    subject = f"[{headline}] {alert.name}{f' {scope}' if scope else ''}: {transition}"

    # a relative threshold's value and levels are percent changes, whatever the metric's unit
    unit = units.level_unit(metric.unit, bool(threshold.relative_to))
    sign = COMPARATOR[threshold.direction]
    levels = f"warning {sign} {formatting.level(change.warning, unit)}"
    if change.critical is not None:
        levels += f", critical {sign} {formatting.level(change.critical, unit)}"
    if threshold.relative_to:
        levels += f" (change against {threshold.relative_to} before)"
    history = settings.PANEL_URL + reverse("alerts:check-history", args=[check.pk])
    lines = [
        f"{alert.name}: {alert.summary}",
        f"Service: {alert.service}",
        f"Metric: {metric.name} ({metric.get_category_display()})",
        f"Scope: {scope or 'all series'}",
        f"State: {transition}",
        f"Value: {formatting.with_unit(change.value, unit)}",
        f"Thresholds: {levels}",
        f"Reason: {formatting.reason(change.reason, unit) or '-'}",
        f"At: {change.at:%Y-%m-%d %H:%M:%S %Z}",
    ]
    if change.to_state in State.UNKNOWN:
        lines.append("This is not a recovery: the check cannot be judged until data returns.")
    lines.append(f"History: {history}")
    return Message(
        subject,
        "\n".join(lines),
        category=metric.category,
        severity=severity_of(change),
    )


def notify(changes: Sequence[StateChange], *, budget: float = BATCH_BUDGET) -> list[Notification]:
    """Send every change that deserves it to each enabled channel routed to it, one message
    per change per channel. ``changes`` come with their check, threshold, metric and alert."""
    deadline = time.monotonic() + budget
    sent: list[Notification] = []
    for change in changes:
        if should_notify(change.from_state, change.to_state):
            sent += delivery.send(compose(change), state_change_id=change.pk, deadline=deadline)
    return sent
