"""Runbooks (the playbook's response procedures), their steps and actions, and every run of
an action with who asked, who approved and what happened."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from runbooks.choices import RunbookKind, RunStatus
from runbooks.kinds import KINDS, Kind


class Runbook(models.Model):
    """The response procedure for one alert (``name`` is the alert's name, as in the exported
    rules' ``runbook_url``), or a troubleshooting guide or the log-analysis patterns.
    ``playbook_digest`` is the digest of the playbook text it was last loaded from, so that a
    reload of an unchanged playbook keeps an administrator's edits."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=RunbookKind.choices, default=RunbookKind.ALERT)
    alert = models.ForeignKey(
        "alerts.Alert",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runbooks",
    )
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=100, blank=True)
    impact = models.TextField(blank=True)
    # [[label, value], ...] as shown on the page: the playbook's contacts, editable.
    escalation = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    playbook_digest = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    """One step of a runbook, in order, with its time box ("Immediate Assessment (2m)")."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    time_box = models.CharField(max_length=20, blank=True, help_text="e.g. 2m, 5m")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["runbook", "position"]
        constraints = [
            models.UniqueConstraint(fields=["runbook", "position"], name="step_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.runbook.name} · {self.position}. {self.title}"


class Action(models.Model):
    """An executable command of a step: its kind (``runbooks.kinds``) and its parameters,
    which may hold placeholders (``{pod}``) filled from the alert's labels. ``command`` keeps
    the playbook's shell text it replaces."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="actions")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=40, choices=[(k.name, k.label) for k in KINDS.values()])
    label = models.CharField(max_length=200)
    parameters = models.JSONField(default=dict, blank=True)
    command = models.TextField(blank=True)

    class Meta:
        ordering = ["step", "position"]
        constraints = [
            models.UniqueConstraint(fields=["step", "position"], name="action_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.step.runbook.name}: {self.label}"

    @property
    def spec(self) -> Kind:
        return KINDS[self.kind]

    @property
    def is_change(self) -> bool:
        return self.spec.is_change


class ActionRun(models.Model):
    """One run of an action: who asked, with which parameters, who approved it (changes need a
    second SRE), its status and output. The runbook, label and kind are copied in, so the audit
    survives an edited or removed action. A worker claims a run by a conditional update from
    ``pending`` to ``running``; ``heartbeat_at`` moves while it works, and the sweeper calls a
    run whose heartbeat stopped ``lost``. A change waiting for approval may instead be refused
    (who and why are kept) or expire unanswered at ``approval_expires_at``."""

    action = models.ForeignKey(
        Action, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    runbook_name = models.CharField(max_length=100)
    action_label = models.CharField(max_length=200)
    kind = models.CharField(max_length=40)
    parameters = models.JSONField(default=dict)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=RunStatus.choices, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_runs"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approved_runs",
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cancelled_runs",
    )
    refused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refused_runs",
    )
    refusal_reason = models.TextField(blank=True)
    # Set when a change starts waiting for approval (RUNBOOK_APPROVAL_TTL later): the sweeper
    # calls it expired past this time. Kept on the row, so the page can say when, and a change
    # of the setting does not move requests already made.
    approval_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # What the change would do, from the server's own dry run, shown before approval.
    preview = models.TextField(blank=True)
    output = models.TextField(blank=True)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"run {self.pk}: {self.action_label} ({self.status})"

    @property
    def parameters_text(self) -> str:
        import json

        return json.dumps(self.parameters, sort_keys=True, ensure_ascii=False)

    @property
    def is_done(self) -> bool:
        return self.status in RunStatus.TERMINAL

    @property
    def needs_approval(self) -> bool:
        return self.status == RunStatus.AWAITING_APPROVAL

    @property
    def asked_for_approval(self) -> bool:
        """A change that waited (or waits) for a second SRE, whatever became of it."""
        return self.approval_expires_at is not None or self.approved_by_id is not None
