"""Overdue runs: a notice through the configured notification channels, once per run."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from checklists.actions import claim_overdue_notice
from checklists.choices import ItemStatus
from checklists.models import ChecklistRun
from core.choices import Severity
from notifications import delivery
from notifications.delivery import Message
from notifications.models import Notification

log = logging.getLogger(__name__)
# The category channels can route on (empty categories on a channel: everything).
CATEGORY = "checklists"


def compose(run: ChecklistRun) -> Message:
    url = settings.PANEL_URL + reverse("checklists:run", args=[run.pk])
    pending = run.items.filter(status=ItemStatus.PENDING).count()
    return Message(
        category=CATEGORY,
        severity=Severity.WARNING,
        subject=f"[OVERDUE] {run.get_cadence_display()} checklist {run.period_label}",
        body=(
            f"The {run.get_cadence_display().lower()} maintenance checklist for "
            f"{run.period_label} was due {timezone.localtime(run.due_at):%Y-%m-%d %H:%M} and "
            f"is not signed off: {pending} item(s) still to do.\n"
            f"Owner: {run.owner or 'nobody (assign one on the page)'}\n{url}"
        ),
    )


def notify_overdue(now: datetime | None = None) -> list[Notification]:
    """Each overdue run is announced once to every enabled channel routed to checklists (at
    warning severity); the claim makes sure two workers never both send it."""
    now = now or timezone.now()
    sent: list[Notification] = []
    for run in ChecklistRun.objects.overdue(now).filter(overdue_notified_at__isnull=True):
        if not claim_overdue_notice(run, now):
            continue
        delivered = delivery.send(compose(run))
        log.info("overdue notice for %s sent to %d channel(s)", run, len(delivered))
        sent += delivered
    return sent
