"""Notifications on state changes: which changes deserve a message, which channels get it,
what it says, and its delivery by email or to a Slack-compatible incoming webhook.

Every attempt is stored as a ``Notification`` row, delivered or with its error, so a silent
channel shows up in the admin instead of being discovered during the next incident. A failing
channel never stops the others: each delivery catches its own network errors.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from alerts.choices import ChannelKind, Direction, Severity, State
from alerts.models import Notification, NotificationChannel, StateChange
from metrics.templatetags.metrics_format import relative_unit, with_unit

log = logging.getLogger(__name__)

# Seconds for one webhook POST; Slack answers in well under one, and a hung receiver must not
# hold the batch (SMTP has its own EMAIL_TIMEOUT).
WEBHOOK_TIMEOUT = 5.0
# Seconds one batch may spend delivering: below CELERY_TASK_SOFT_TIME_LIMIT (120 s), so that
# attempts left when it is spent are recorded as failed instead of cut off unrecorded.
BATCH_BUDGET = 90.0
NOT_ATTEMPTED = "not attempted: the batch's time budget was spent on slower deliveries"

_ADDRESS_SEPARATORS = re.compile(r"[,;\s]+")


class DeliveryError(Exception):
    """A receiver answered, but not with success (a webhook's non-2xx status)."""


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


# --- which changes, which channels ------------------------------------------------------


def should_notify(from_state: str, to_state: str) -> bool:
    """Into a breach, anything out of critical, and a breach ending: back to ok (a recovery)
    or to no_data / error, because a series that vanishes while breached must not look like
    a recovery by saying nothing (ARCHITECTURE.md, trust rule 3). Changes that never were a
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


def is_routed(channel: NotificationChannel, category: str, severity: str) -> bool:
    if not channel.is_enabled:
        return False
    if channel.categories and category not in channel.categories:
        return False
    return severity == Severity.CRITICAL or channel.min_severity == Severity.WARNING


# --- what the message says ----------------------------------------------------------------


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

    def shown(value: float | None) -> str:
        return relative_unit(value) if threshold.relative_to else with_unit(value, metric.unit)

    sign = ">" if threshold.direction == Direction.ABOVE else "<"
    levels = f"warning {sign} {shown(change.warning)}"
    if change.critical is not None:
        levels += f", critical {sign} {shown(change.critical)}"
    if threshold.relative_to:
        levels += f" (change against {threshold.relative_to} before)"
    history = settings.PANEL_URL + reverse("alerts:check-history", args=[check.pk])
    lines = [
        f"{alert.name}: {alert.summary}",
        f"Service: {alert.service}",
        f"Metric: {metric.name} ({metric.get_category_display()})",
        f"Scope: {scope or 'all series'}",
        f"State: {transition}",
        f"Value: {shown(change.value)}",
        f"Thresholds: {levels}",
        f"Reason: {change.reason or '-'}",
        f"At: {change.at:%Y-%m-%d %H:%M:%S %Z}",
    ]
    if change.to_state in State.UNKNOWN:
        lines.append("This is not a recovery: the check cannot be judged until data returns.")
    lines.append(f"History: {history}")
    return Message(subject, "\n".join(lines))


def compose_test(channel: NotificationChannel, *, actor: Any) -> Message:
    """A message nobody can mistake for an alert, naming who sent it and the routing it
    tests."""
    categories = ", ".join(channel.categories) or "all categories"
    return Message(
        f"[TEST] LeanVibe monitoring: test notification for {channel.name}",
        "\n".join(
            [
                "This is a test notification. No check changed state; nothing needs doing.",
                f"Sent by {actor} from the control panel admin at "
                f"{timezone.now():%Y-%m-%d %H:%M:%S %Z}.",
                f"Channel {channel.name} receives {categories} "
                f"from {channel.get_min_severity_display().lower()} up.",
                f"Panel: {settings.PANEL_URL}/",
            ]
        ),
    )


# --- delivery -----------------------------------------------------------------------------


def email_addresses(target: str) -> list[str]:
    return [a for a in _ADDRESS_SEPARATORS.split(target.strip()) if a]


def clean_target(kind: str, target: str) -> str:
    """The target in its stored form, or ``ValidationError``: every address valid for email,
    an http(s) URL for a webhook."""
    if kind == ChannelKind.EMAIL:
        addresses = email_addresses(target)
        if not addresses:
            raise ValidationError("Give at least one email address.")
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError(f"Not a valid email address: {', '.join(bad)}")
        return ", ".join(addresses)
    url = target.strip()
    URLValidator(schemes=["http", "https"], message="Give the webhook's http(s) URL.")(url)
    return url


def deliver(
    channel: NotificationChannel, message: Message, *, state_change: StateChange | None = None
) -> Notification:
    """Send one message to one channel now and record the attempt, delivered or not."""
    error = ""
    try:
        if channel.kind == ChannelKind.EMAIL:
            _send_email(channel.target, message)
        else:
            _post_webhook(channel.target, message)
    # SMTP errors and requests' errors are OSErrors; a header the mail library refuses is a
    # ValueError. Anything else is a bug and should surface.
    except (DeliveryError, OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("notification to %s failed: %s", channel, error)
    return _record(channel, message, state_change, error)


def _record(
    channel: NotificationChannel, message: Message, state_change: StateChange | None, error: str
) -> Notification:
    return Notification.objects.create(
        channel=channel,
        state_change=state_change,
        subject=message.subject[:300],
        body=message.body,
        is_delivered=not error,
        error=error,
    )


def _send_email(target: str, message: Message) -> None:
    # One message to all the channel's addresses: a list reads as one notice, not one each.
    mail.EmailMessage(
        message.subject, message.body, settings.DEFAULT_FROM_EMAIL, email_addresses(target)
    ).send()


def _post_webhook(url: str, message: Message) -> None:
    # Slack's incoming webhooks (and Mattermost's, Rocket.Chat's) take {"text": ...}. A
    # redirect is not followed: requests would turn the POST into a GET and call it success.
    response = requests.post(
        url,
        json={"text": f"*{message.subject}*\n{message.body}"},
        timeout=WEBHOOK_TIMEOUT,
        allow_redirects=False,
    )
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")


# --- entry points -------------------------------------------------------------------------


def notify(changes: Sequence[StateChange], *, budget: float = BATCH_BUDGET) -> list[Notification]:
    """Send every change that deserves it to each enabled channel routed to it, one message
    per change per channel. ``changes`` come with their check, threshold, metric and alert."""
    channels = list(NotificationChannel.objects.filter(is_enabled=True))
    deadline = time.monotonic() + budget
    sent: list[Notification] = []
    for change in changes:
        if not should_notify(change.from_state, change.to_state):
            continue
        category = change.check_obj.threshold.metric.category
        routed = [c for c in channels if is_routed(c, category, severity_of(change))]
        if not routed:
            continue
        message = compose(change)
        for channel in routed:
            if time.monotonic() > deadline:
                sent.append(_record(channel, message, change, NOT_ATTEMPTED))
            else:
                sent.append(deliver(channel, message, state_change=change))
    return sent


def send_test(channel: NotificationChannel, *, actor: Any) -> Notification:
    """Send a clearly-labelled test message to a channel now (enabled or not), recorded like
    any other attempt."""
    return deliver(channel, compose_test(channel, actor=actor))


def queue_notifications(changes: Sequence[StateChange]) -> None:
    """Hand the changes worth a message to Celery once the cycle's transaction commits (the
    task must find the rows). Without an enabled channel nothing is queued, so a panel without
    channels never needs the broker for this."""
    ids = [c.pk for c in changes if should_notify(c.from_state, c.to_state)]
    if not ids or not NotificationChannel.objects.filter(is_enabled=True).exists():
        return
    from alerts.tasks import send_notifications  # alerts.tasks imports the cycle, which imports us

    # robust: the states are committed; a broker outage is logged, it does not fail the cycle.
    transaction.on_commit(lambda: send_notifications.delay(ids), robust=True)
