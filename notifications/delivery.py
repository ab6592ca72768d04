"""Delivery of messages to notification channels, for every app: which channels a message is
routed to (category and severity), and its delivery by email or to a chat webhook.

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

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils import timezone

from core.choices import Severity
from integrations import chat, mail
from notifications.choices import ChannelKind
from notifications.models import Notification, NotificationChannel

log = logging.getLogger(__name__)

NOT_ATTEMPTED = "not attempted: the batch's time budget was spent on slower deliveries"

_ADDRESS_SEPARATORS = re.compile(r"[,;\s]+")


@dataclass(frozen=True)
class Message:
    """What every channel receives, and how it is routed: ``category`` is a metric category or
    an app's own (``runbooks``, ``checklists``); ``severity`` a ``Severity``."""

    subject: str
    body: str
    category: str = ""
    severity: str = Severity.WARNING


# --- which channels -------------------------------------------------------------------------


def is_routed(channel: NotificationChannel, category: str, severity: str) -> bool:
    if not channel.is_enabled:
        return False
    if channel.categories and category not in channel.categories:
        return False
    return severity == Severity.CRITICAL or channel.min_severity == Severity.WARNING


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
    channel: NotificationChannel, message: Message, *, state_change_id: int | None = None
) -> Notification:
    """Send one message to one channel now and record the attempt, delivered or not."""
    error = ""
    try:
        if channel.kind == ChannelKind.EMAIL:
            mail.send(email_addresses(channel.target), message.subject, message.body)
        else:
            chat.post(channel.target, message.subject, message.body)
    # SMTP errors and requests' errors are OSErrors; a header the mail library refuses is a
    # ValueError. Anything else is a bug and should surface.
    except (chat.DeliveryError, OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("notification to %s failed: %s", channel, error)
    return _record(channel, message, state_change_id, error)


def _record(
    channel: NotificationChannel, message: Message, state_change_id: int | None, error: str
) -> Notification:
    return Notification.objects.create(
        channel=channel,
        state_change_id=state_change_id,
        subject=message.subject[:300],
        body=message.body,
        is_delivered=not error,
        error=error,
    )


# --- entry points -------------------------------------------------------------------------


def send(
    message: Message,
    *,
    channels: Sequence[NotificationChannel] | None = None,
    state_change_id: int | None = None,
    deadline: float | None = None,
) -> list[Notification]:
    """The one way apps notify: deliver ``message`` to every enabled channel routed to its
    category and severity (or to the ``channels`` a caller names, such as a runbook's notify
    step), and record each attempt. Past ``deadline`` (``time.monotonic()``) the attempts left
    are recorded as not attempted instead of being cut off unrecorded."""
    sent = []
    targets = routed_channels(message.category, message.severity) if channels is None else channels
    for channel in targets:
        if deadline is not None and time.monotonic() > deadline:
            sent.append(_record(channel, message, state_change_id, NOT_ATTEMPTED))
        else:
            sent.append(deliver(channel, message, state_change_id=state_change_id))
    return sent


def routed_channels(category: str, severity: str) -> list[NotificationChannel]:
    return [
        c
        for c in NotificationChannel.objects.filter(is_enabled=True)
        if is_routed(c, category, severity)
    ]


def send_test(channel: NotificationChannel, *, actor: Any) -> Notification:
    """Send a clearly-labelled test message to a channel now (enabled or not), recorded like
    any other attempt."""
    return deliver(channel, compose_test(channel, actor=actor))
