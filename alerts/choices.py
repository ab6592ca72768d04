"""Choice sets of the alerts app."""

from __future__ import annotations

from django.db import models


class State(models.TextChoices):
    """The states a check can be in (ARCHITECTURE.md, "States a check can be in")."""

    OK = "ok", "OK"
    PENDING = "pending", "Pending"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"
    NO_DATA = "no_data", "No data"
    ERROR = "error", "Error"

    # Breached for at least the sustained-for duration.
    BREACHED: tuple[str, ...]
    # Neither OK nor a breach: the panel cannot judge, and says so apart.
    UNKNOWN: tuple[str, ...]


State.BREACHED = (State.WARNING, State.CRITICAL)
State.UNKNOWN = (State.NO_DATA, State.ERROR)


class Severity(models.TextChoices):
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class Direction(models.TextChoices):
    ABOVE = "above", "Above the threshold is bad"
    BELOW = "below", "Below the threshold is bad"


class TuningKind(models.TextChoices):
    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    RESTORED = "restored", "Restored an earlier version"
    NOTE = "note", "Note without a change"


class FiringStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack-compatible incoming webhook"
