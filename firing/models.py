"""Alerts as Alertmanager delivers them, and who acknowledged them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from firing import labels as label_sets
from firing.choices import FiringStatus, Resolution, SilenceAction


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
    # Alerts that differ only in where they fire (pod, instance) share it: one card on the
    # firing list (firing/labels.py). Derived from the labels, which never change for a
    # fingerprint, so it is set once, when the row is first saved.
    card_key = models.CharField(max_length=32, blank=True, editable=False)
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
    resolution = models.CharField(
        max_length=10, choices=Resolution.choices, blank=True, default=Resolution.NONE
    )

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
            ),
            # The cards of the list: counted, and their instances read, from the index.
            models.Index(
                fields=["status", "severity", "alertname", "tenant_tier", "card_key", "starts_at"],
                name="firing_alert_cards",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.alertname} {self.labels}"

    def save(self, *args: object, **kwargs: object) -> None:
        # Derived state only (the card the labels put it on), no side effect.
        if not self.card_key:
            self.card_key = label_sets.card_key(self.labels)
        super().save(*args, **kwargs)  # type: ignore[arg-type]


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
    """A silence created, extended, edited or expired through the panel: the audit row of
    that action. Alertmanager keeps the silence itself (and its expired ones only for a few
    days); this says who did what from here, and why, for as long as the panel keeps it.
    ``previous_id`` is the silence an edit replaced: Alertmanager updates a silence in place
    only when its matchers stay and an active one keeps its start, and otherwise expires it
    and creates a new one."""

    silence_id = models.CharField(max_length=64, db_index=True)
    previous_id = models.CharField(max_length=64, blank=True, db_index=True)
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
