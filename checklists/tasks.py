"""Celery tasks of the checklists app: thin, each calling the actions."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from checklists import actions, evidence
from checklists.choices import RunStatus
from checklists.models import ChecklistRun
from checklists.overdue import notify_overdue
from health import slots

log = logging.getLogger(__name__)

# A snapshot whose sources did not all answer is gathered again, at most this often.
RETRY_EVIDENCE_AFTER = timedelta(minutes=5)
# Runs gathered per tick: a long catch-up must not hold the worker past its time limit.
EVIDENCE_PER_TICK = 4


@shared_task(name="checklists.tasks.open_runs", ignore_result=True)
def open_runs() -> None:
    """Beat's tick: open the periods that are due (exactly once each), gather the evidence of
    runs that have none yet (or whose sources did not answer), and send overdue notices. Once
    a tick across every beat and worker (``health.slots``): two hosts must not both gather
    evidence or both send a notice."""
    with slots.exactly_once("open-checklist-runs", settings.CHECKLIST_TICK_INTERVAL) as mine:
        if mine:
            _open_runs()


def _open_runs() -> None:
    now = timezone.now()
    for run in actions.open_runs(now):
        log.info("opened %s", run)
    gather_missing_evidence()
    notify_overdue(now)


def gather_missing_evidence() -> int:
    """Gather for open runs without evidence, or with a partial snapshot older than a few
    minutes (Prometheus may still have been starting)."""
    current = timezone.now()
    candidates = ChecklistRun.objects.filter(status=RunStatus.OPEN).order_by("-opened_at")
    gathered = 0
    for run in candidates[:50]:
        if gathered >= EVIDENCE_PER_TICK:
            break
        if run.evidence_at is not None and not evidence.is_incomplete(run.evidence):
            continue
        if run.evidence_at is not None and current - run.evidence_at < RETRY_EVIDENCE_AFTER:
            continue
        actions.store_evidence(run, evidence.gather(run), actor=None)
        gathered += 1
    return gathered
