"""Alerts, their thresholds, the checks evaluated from them, and every change of state."""

from __future__ import annotations

import zlib
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from alerts.choices import TuningKind
from alerts.evaluation import Memory, Rule
from core.choices import Direction, State
from core.promql import duration_seconds
from metrics.models import Metric


class Alert(models.Model):
    """A named alert of the playbook (``LeanVibeHighResponseTime``, ...) and its severities."""

    name = models.CharField(max_length=100, unique=True)
    summary = models.CharField(max_length=300)
    severities = models.JSONField(default=list)
    service = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Threshold(models.Model):
    """Warning and critical levels for a metric, in one scope (a tier, ...), with how long each
    must hold (Prometheus's ``for:``) and, for relative thresholds, the past window compared
    with. ``playbook_values`` keeps what the playbook said, so that a reload can tell a tuned
    value from a stale one."""

    key = models.CharField(max_length=100, unique=True)
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="thresholds")
    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="thresholds")
    scope = models.JSONField(default=dict, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    warning = models.FloatField()
    critical = models.FloatField(null=True, blank=True)
    for_warning = models.CharField(max_length=20, default="0s")
    for_critical = models.CharField(max_length=20, default="0s")
    relative_to = models.CharField(max_length=20, blank=True)
    playbook_values = models.JSONField(default=dict)

    TUNABLE = ("direction", "warning", "critical", "for_warning", "for_critical", "relative_to")

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key

    def current_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.TUNABLE}

    @property
    def is_tuned(self) -> bool:
        """True when an administrator changed a value the playbook set."""
        return bool(self.playbook_values) and self.current_values() != self.playbook_values

    def rule(self) -> Rule:
        return Rule(
            self.direction,
            self.warning,
            self.critical,
            duration_seconds(self.for_warning),
            duration_seconds(self.for_critical),
        )


# A check's bucket is a hash of its signature, stored with it; a cycle split ``count`` ways
# gives shard ``i`` the buckets ``b`` with ``b % count == i`` (``alerts.cycle.Shard``).
BUCKETS = 1024


def bucket_of(sig: str) -> int:
    return zlib.crc32(sig.encode()) % BUCKETS


class Check(models.Model):
    """One thing evaluated: a threshold on one series (its labels), with its current state.
    The series of a scoped threshold exists as a check even when Prometheus returns nothing
    for it, so that missing data shows as ``no_data`` rather than disappearing."""

    threshold = models.ForeignKey(Threshold, on_delete=models.CASCADE, related_name="checks")
    labels = models.JSONField(default=dict)
    signature = models.CharField(max_length=500, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.NO_DATA)
    since = models.DateTimeField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True)
    warning_since = models.FloatField(null=True, blank=True)
    critical_since = models.FloatField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    last_value_at = models.DateTimeField(null=True, blank=True)
    # Which shard of a sharded cycle judges it: a hash of the signature (``bucket_of``, set by
    # save() and by the cycle's bulk create), stored so that a shard reads only its own checks.
    bucket = models.PositiveSmallIntegerField(default=0, db_index=True)

    class Meta:
        ordering = ["signature"]

    def __str__(self) -> str:
        return self.signature

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.bucket = bucket_of(self.signature)  # however the check was made
        super().save(*args, **kwargs)

    def memory(self) -> Memory:
        return Memory(
            state=self.state,
            since=self.since.timestamp() if self.since else None,
            warning_since=self.warning_since,
            critical_since=self.critical_since,
            value=self.value,
            reason=self.reason,
        )


class StateChange(models.Model):
    """A check changed state: when, from what to what, the value, the levels and why."""

    check_obj = models.ForeignKey(
        Check, on_delete=models.CASCADE, related_name="changes", db_column="check_id"
    )
    at = models.DateTimeField(db_index=True)
    from_state = models.CharField(max_length=10, choices=State.choices)
    to_state = models.CharField(max_length=10, choices=State.choices)
    value = models.FloatField(null=True, blank=True)
    warning = models.FloatField()
    critical = models.FloatField(null=True, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.check_obj}: {self.from_state} -> {self.to_state}"


class TuningNote(models.Model):
    """The alert-tuning record: every change of a threshold (values before and after, who, why)
    and notes on an alert that change nothing ("fired during the 20 Nov incident: real").
    Rows are only ever added; restoring an earlier version adds a row too."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="tuning_notes")
    threshold = models.ForeignKey(
        Threshold,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tuning_notes",
    )
    threshold_key = models.CharField(max_length=100, blank=True)  # kept if the row goes
    kind = models.CharField(max_length=10, choices=TuningKind.choices)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    note = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.alert} {self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"

    def diff(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every value that changed."""
        names = sorted(set(self.before) | set(self.after))
        return [
            (name, self.before.get(name), self.after.get(name))
            for name in names
            if self.before.get(name) != self.after.get(name)
        ]
