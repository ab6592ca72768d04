"""Choice sets of the runbooks app."""

from __future__ import annotations

from django.db import models


class RunbookKind(models.TextChoices):
    ALERT = "alert", "Alert response"
    GUIDE = "guide", "Troubleshooting guide"
    LOGS = "logs", "Log analysis"


class RunStatus(models.TextChoices):
    """Where an action run is. ``TERMINAL`` runs never change again; ``ACTIVE`` ones may."""

    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    LOST = "lost", "Lost"

    TERMINAL: tuple[str, ...]
    ACTIVE: tuple[str, ...]


RunStatus.TERMINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.LOST)
RunStatus.ACTIVE = (RunStatus.AWAITING_APPROVAL, RunStatus.PENDING, RunStatus.RUNNING)
