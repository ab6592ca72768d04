"""Where messages go (channels) and every attempt to deliver one."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.choices import Severity
from notifications.choices import ChannelKind


class NotificationChannel(models.Model):
    """Where state changes are sent: an email list or a Slack-compatible incoming webhook, for
    some categories (empty: all) from a minimum severity."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    target = models.TextField(
        help_text="Email: addresses separated by commas. Slack: the incoming-webhook URL."
    )
    categories = models.JSONField(
        default=list, blank=True, help_text="Metric categories routed here; empty for all."
    )
    min_severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.WARNING
    )
    is_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """One delivery attempt to a channel: what was sent and whether it arrived."""

    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="notifications"
    )
    state_change = models.ForeignKey(
        "alerts.StateChange", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(max_length=300)
    body = models.TextField()
    sent_at = models.DateTimeField(default=timezone.now)
    is_delivered = models.BooleanField(default=False)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"{self.channel}: {self.subject}"
