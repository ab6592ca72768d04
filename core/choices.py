"""Choice sets shared by every app: a check's states, severities, directions, metric categories
and units. Each is defined once; apps import them from here."""

from __future__ import annotations

from django.db import models


class State(models.TextChoices):
    """The states a check can be in (docs/architecture.md, "States a check can be in")."""

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
# The one order of badness, worst first, for states and severities alike (a severity is a state
# name): lists sort by it, and "the worst check" of a threshold is the first in it.
WORST_FIRST: tuple[str, ...] = (
    State.CRITICAL,
    State.WARNING,
    State.ERROR,
    State.PENDING,
    State.NO_DATA,
    State.OK,
)


def badness_rank(state: str) -> int:
    """0 for the worst (critical); unknown names after every known one."""
    return WORST_FIRST.index(state) if state in WORST_FIRST else len(WORST_FIRST)


class Severity(models.TextChoices):
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class Direction(models.TextChoices):
    ABOVE = "above", "Above the threshold is bad"
    BELOW = "below", "Below the threshold is bad"


# How a level compares in the bad direction: PromQL, notifications and reasons all say it so.
COMPARATOR: dict[str, str] = {Direction.ABOVE: ">", Direction.BELOW: "<"}


class Category(models.TextChoices):
    APPLICATION = "application", "Application performance"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    DATABASE = "database", "Database"
    CACHE = "cache", "Cache"
    BUSINESS = "business", "Business"


class Better(models.TextChoices):
    """Which way a metric's change is good news: the headline tiles colour their change by it."""

    UP = "up", "A rise is good"
    DOWN = "down", "A fall is good"
    NEUTRAL = "", "Neither"


class Unit(models.TextChoices):
    SECONDS = "seconds", "seconds"
    # seconds read as an age or a window ("26h"), not as a latency (ms)
    DURATION = "duration", "duration"
    PERCENT = "percent", "%"
    RPS = "rps", "req/s"
    COUNT = "count", ""
    USD = "usd", "USD"
    RATIO = "ratio", "ratio"
    PER_HOUR = "per_hour", "per hour"
