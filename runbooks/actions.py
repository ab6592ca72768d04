"""Writes that matter in the runbooks app: requesting, approving and cancelling a run (the
worker's side, claiming and running it, is ``runbooks.execution``). Each takes the acting user
as ``actor=``; the ``ActionRun`` row is itself the audit record (failures included)."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from alerts.models import Alert
from core import permissions
from runbooks import executors, playbook
from runbooks.choices import RunbookKind, RunStatus
from runbooks.models import Action, ActionRun, Runbook, Step
from runbooks.tasks import execute_run

log = logging.getLogger(__name__)


class RunRefused(Exception):
    """The request breaks a rule (rate limit, own approval, wrong status); said to the user."""


# --- requesting and approving ------------------------------------------------------------


def _queue(run: ActionRun) -> None:
    transaction.on_commit(lambda: execute_run.delay(run.pk))


def request_run(
    action: Action,
    params: dict[str, Any],
    *,
    actor: Any,
    dry_run: bool = False,
    preview: str | None = None,
) -> ActionRun:
    """Record a run of ``action`` with checked ``params``. Read-only actions and dry runs are
    queued at once; a change waits for a second SRE's approval, with the server's dry run of
    it (``preview``) to judge it by. Refused past the action's rate limit."""
    if not permissions.has(actor, permissions.RUN_ACTIONS):
        raise PermissionDenied("Your role cannot run runbook actions.")
    needs_approval = action.is_change and not dry_run
    if needs_approval and preview is None:
        # Asked of the cluster before the transaction: a network call must not hold it open.
        preview = executors.preview(action.kind, params)
    with transaction.atomic():
        since = timezone.now() - timedelta(seconds=settings.RUNBOOK_RATE_WINDOW)
        recent = ActionRun.objects.filter(action=action, requested_at__gte=since).count()
        if recent >= settings.RUNBOOK_RATE_LIMIT:
            raise RunRefused(
                f"“{action.label}” ran {recent} times in the last "
                f"{settings.RUNBOOK_RATE_WINDOW // 60} minutes, the limit "
                "(RUNBOOK_RATE_LIMIT); wait, or ask why it keeps being needed."
            )
        run = ActionRun.objects.create(
            action=action,
            runbook_name=action.step.runbook.name,
            action_label=action.label,
            kind=action.kind,
            parameters=params,
            dry_run=dry_run,
            status=RunStatus.AWAITING_APPROVAL if needs_approval else RunStatus.PENDING,
            requested_by=actor,
            preview=preview or "",
            requested_at=timezone.now(),
        )
        if not needs_approval:
            _queue(run)
    return run


@transaction.atomic
def approve_run(run: ActionRun, *, actor: Any) -> ActionRun:
    """A second SRE lets a change run. The requester cannot approve their own run; the
    conditional update makes two approvals at once queue it once."""
    if not permissions.has(actor, permissions.APPROVE_ACTIONS):
        raise PermissionDenied("Your role cannot approve runbook actions.")
    if run.requested_by_id == actor.pk:
        raise RunRefused("You asked for this run; a second person must approve it.")
    claimed = ActionRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_APPROVAL).update(
        status=RunStatus.PENDING, approved_by=actor, approved_at=timezone.now()
    )
    if not claimed:
        raise RunRefused("This run is no longer waiting for approval.")
    run.refresh_from_db()
    _queue(run)
    return run


@transaction.atomic
def cancel_run(run: ActionRun, *, actor: Any) -> ActionRun:
    """Withdraw a run before it starts (the requester, or anyone who may approve)."""
    if run.requested_by_id != actor.pk and not permissions.has(actor, permissions.APPROVE_ACTIONS):
        raise PermissionDenied("Only the requester or an approver can cancel this run.")
    cancelled = ActionRun.objects.filter(
        pk=run.pk, status__in=(RunStatus.AWAITING_APPROVAL, RunStatus.PENDING)
    ).update(status=RunStatus.CANCELLED, cancelled_by=actor, finished_at=timezone.now())
    if not cancelled:
        raise RunRefused("This run has already started or ended.")
    run.refresh_from_db()
    return run


# --- loading from the playbook -----------------------------------------------------------


def _digest(item: Any) -> str:
    return hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()


def load_runbooks(runbooks: dict[str, playbook.Runbook], contacts: dict[str, str]) -> list[str]:
    """Runbooks follow the playbook's runbooks section (read by
    ``runbooks.playbook.read_runbooks``), escalation spelled out from its ``contacts``. A
    runbook whose text in the file is unchanged since the last load is left alone, so an
    administrator's edits survive a reload of the same file; a changed one is rewritten from
    the file (steps and actions by position, so the audit's links to actions stay). An alert
    runbook is linked to its alert, which the alerts section's loader wrote first. Returns
    what happened, one line per runbook."""
    alerts = {a.name: a for a in Alert.objects.all()}
    report = []
    for position, book in enumerate(runbooks.values()):
        spec = {
            "kind": book.kind,
            "title": book.title,
            "severity": book.severity,
            "impact": book.impact,
            "escalation": [[key, contacts.get(key, "")] for key in book.escalation],
            "steps": [
                {
                    "title": s.title,
                    "time_box": s.time_box,
                    "note": s.note,
                    "actions": [
                        {"kind": a.kind, "label": a.label, "params": a.params, "cmd": a.command}
                        for a in s.actions
                    ],
                }
                for s in book.steps
            ],
        }
        digest = _digest(spec)
        runbook = Runbook.objects.filter(name=book.name).first()
        if runbook is not None and runbook.playbook_digest == digest:
            continue
        outcome = "created" if runbook is None else "updated from the playbook"
        runbook = runbook or Runbook(name=book.name)
        runbook.kind = book.kind
        runbook.alert = alerts.get(book.name) if book.kind == RunbookKind.ALERT else None
        runbook.title, runbook.severity, runbook.impact = book.title, book.severity, book.impact
        runbook.escalation = spec["escalation"]
        runbook.position = position
        runbook.playbook_digest = digest
        runbook.save()
        runbook.steps.filter(position__gt=len(book.steps)).delete()
        for number, step_spec in enumerate(book.steps, start=1):
            step, _ = Step.objects.update_or_create(
                runbook=runbook,
                position=number,
                defaults={
                    "title": step_spec.title,
                    "time_box": step_spec.time_box,
                    "note": step_spec.note,
                },
            )
            step.actions.filter(position__gt=len(step_spec.actions)).delete()
            for index, action in enumerate(step_spec.actions, start=1):
                Action.objects.update_or_create(
                    step=step,
                    position=index,
                    defaults={
                        "kind": action.kind,
                        "label": action.label,
                        "parameters": action.params,
                        "command": action.command,
                    },
                )
        report.append(f"runbook {book.name} {outcome}")
    return report
