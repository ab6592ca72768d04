"""Choice sets of the runbooks app."""

from __future__ import annotations

from django.db import models


class RunbookKind(models.TextChoices):
    ALERT = "alert", "Alert response"
    GUIDE = "guide", "Troubleshooting guide"
    LOGS = "logs", "Log analysis"


class RunStatus(models.TextChoices):
    """Where an action run is. ``TERMINAL`` runs never change again; ``ACTIVE`` ones may.
    A change waits in ``AWAITING_APPROVAL`` (the navigation counts these, asked by someone
    else) until a second SRE approves it (``PENDING``), refuses it with a reason
    (``REFUSED``), or nobody answers within ``RUNBOOK_APPROVAL_TTL`` (``EXPIRED``)."""

    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    LOST = "lost", "Lost"
    REFUSED = "refused", "Refused"
    EXPIRED = "expired", "Expired"

    TERMINAL: tuple[str, ...]
    ACTIVE: tuple[str, ...]


RunStatus.TERMINAL = (
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.LOST,
    RunStatus.REFUSED,
    RunStatus.EXPIRED,
)
RunStatus.ACTIVE = (RunStatus.AWAITING_APPROVAL, RunStatus.PENDING, RunStatus.RUNNING)


class ApprovalEvent(models.TextChoices):
    """What the SRE channels hear about a run that needs a second SRE."""

    REQUESTED = "requested", "Approval requested"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    EXPIRED = "expired", "Expired"
