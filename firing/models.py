"""Alerts as Alertmanager delivers them, and who acknowledged them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from firing.choices import FiringStatus, SilenceAction


class FiringAlert(models.Model):
    """An alert as Alertmanager delivered it to the webhook: one row per fingerprint and start
    time however often it is delivered, closed when a delivery says it is resolved."""

    fingerprint = models.CharField(max_length=64)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=FiringStatus.choices)
    alertname = models.CharField(max_length=200, db_index=True)
    severity = models.CharField(max_length=20, blank=True)
    labels = models.JSONField(default=dict)
    # The third label the firing list groups by, kept by the database beside the labels as
    # alertname and severity are: reading it out of the JSON of every row cost the 10,000-alert
    # list most of its time (the list sorts and counts by it), and an index can hold it.
    # Cut like alertname so that the index entry stays within PostgreSQL's btree limit.
    tenant_tier = models.GeneratedField(
        expression=Substr(Coalesce(KT("labels__tenant_tier"), models.Value("")), 1, 200),
        output_field=models.CharField(max_length=200),
        db_persist=True,
    )
    annotations = models.JSONField(default=dict)
    generator_url = models.URLField(max_length=1000, blank=True)
    receiver = models.CharField(max_length=200, blank=True)
    first_received_at = models.DateTimeField(default=timezone.now)
    last_received_at = models.DateTimeField(default=timezone.now)
    deliveries = models.PositiveIntegerField(default=1)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    ack_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint", "starts_at"], name="firing_alert_once_per_start"
            )
        ]
        indexes = [
            # The firing list's groups and their order: counted and paged from the index.
            models.Index(
                fields=["status", "severity", "alertname", "tenant_tier", "starts_at"],
                name="firing_alert_list_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.alertname} {self.labels}"


class Acknowledgement(models.Model):
    """One acknowledgement of a firing alert: who, when and what they said. A take-over adds a
    row and never overwrites the one before; the alert row carries the latest for the lists."""

    alert = models.ForeignKey(
        FiringAlert, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    comment = models.TextField()
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.alert.alertname} acknowledged by {self.actor} at {self.at:%Y-%m-%d %H:%M}"


class SilenceAudit(models.Model):
    """A silence created or expired through the panel: the audit row of that action.
    Alertmanager keeps the silence itself; this says who did what from here, and why."""

    silence_id = models.CharField(max_length=64, db_index=True)
    action = models.CharField(max_length=10, choices=SilenceAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    alert = models.ForeignKey(
        FiringAlert, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    matchers = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"silence {self.silence_id} {self.action} by {self.actor}"
