"""Incidents: a breach (or an SRE) opens one, the checks it concerns are gathered in it, and it
closes when they are all back to ok (or by hand, with a summary).

An incident keeps only what is its own: when it opened and closed and by whom, its checks and
alerts, and its events (opened, a check joined, notes, closed). The rest of its timeline
(state changes, firing alerts, acknowledgements, silences, runbook runs, notifications) stays
in the tables of the apps that write it and is read by time window and relation when the page
is drawn (``incidents/timeline.py``): a copy would drift from the record it copies.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from alerts.models import Alert, Check, StateChange
from core.choices import Severity
from incidents.choices import EventKind, IncidentStatus

TITLE_LENGTH = 200


class Incident(models.Model):
    """One incident: opened by the panel on a breach (``opened_by`` empty) or by an SRE, with
    the checks and alerts it gathered, its worst severity, and how it ended. ``started_at`` is
    its first sign (the first breach; for one opened by hand, the moment it was opened);
    ``last_breach_at`` the latest breach that joined it, which the grouping window counts from
    (``incidents/grouping.py``). ``closed_by`` empty on a closed incident: it closed by itself
    when every check in it was back to ok."""

    title = models.CharField(max_length=TITLE_LENGTH)
    status = models.CharField(
        max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN, db_index=True
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    started_at = models.DateTimeField()
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_breach_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    summary = models.TextField(blank=True)
    alerts = models.ManyToManyField(Alert, related_name="+", blank=True)
    checks: models.ManyToManyField[Check, IncidentCheck] = models.ManyToManyField(
        Check, through="IncidentCheck", related_name="+", blank=True
    )

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["status", "-opened_at"], name="incident_list_order")]

    def __str__(self) -> str:
        return f"incident {self.pk}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == IncidentStatus.OPEN

    @property
    def closed_by_itself(self) -> bool:
        return self.status == IncidentStatus.CLOSED and self.closed_by_id is None


class IncidentCheck(models.Model):
    """A check gathered in an incident, with the breach that brought it in."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="members")
    check_obj = models.ForeignKey(
        Check, on_delete=models.CASCADE, related_name="+", db_column="check_id"
    )
    joined_at = models.DateTimeField()
    state_change = models.ForeignKey(
        StateChange, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "check_obj"], name="incident_check_once")
        ]

    def __str__(self) -> str:
        return f"{self.check_obj} in incident {self.incident_id}"


class IncidentEvent(models.Model):
    """The incident's own audit: opened, a check joined, a note, closed; who (empty: the panel)
    and what was said. Rows are only ever added."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"incident {self.incident_id} {self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
