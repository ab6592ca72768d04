"""Writes that matter in the runbooks app: requesting, approving, refusing and cancelling a
run (the worker's side, claiming and running it, is ``runbooks.execution``; expiring requests
nobody answered is ``runbooks.approvals``). Each takes the acting user as ``actor=``; the
``ActionRun`` row is itself the audit record (failures included). Every step of an approval
is announced to the SRE channels once its transaction commits."""

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
from runbooks import approvals, executors, playbook
from runbooks.choices import ApprovalEvent, RunbookKind, RunStatus
from runbooks.models import Action, ActionRun, Runbook, Step
from runbooks.tasks import execute_run, send_approval_notice

log = logging.getLogger(__name__)


class RunRefused(Exception):
    """The request breaks a rule (rate limit, own approval, wrong status); said to the user."""


# --- requesting and approving ------------------------------------------------------------


# The longest reason a refusal may give (the refusal form says so beside the field).
REFUSAL_REASON_MAX = 500


def _queue(run: ActionRun) -> None:
    transaction.on_commit(lambda: execute_run.delay(run.pk))


def _announce(run: ActionRun, event: str) -> None:
    pk = run.pk
    transaction.on_commit(lambda: send_approval_notice.delay(pk, str(event)))


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
    it (``preview``) to judge it by: the SRE channels are told, and it expires unanswered
    after ``RUNBOOK_APPROVAL_TTL``. Refused past the action's rate limit."""
    if not permissions.has(actor, permissions.RUN_ACTIONS):
        raise PermissionDenied("Your role cannot run runbook actions.")
    needs_approval = action.is_change and not dry_run
    if needs_approval and preview is None:
        # Asked of the cluster before the transaction: a network call must not hold it open.
        preview = executors.preview(action.kind, params)
    with transaction.atomic():
        now = timezone.now()
        since = now - timedelta(seconds=settings.RUNBOOK_RATE_WINDOW)
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
            requested_at=now,
            approval_expires_at=(
                now + timedelta(seconds=approvals.ttl()) if needs_approval else None
            ),
        )
        if needs_approval:
            _announce(run, ApprovalEvent.REQUESTED)
        else:
            _queue(run)
    return run


@transaction.atomic
def approve_run(run: ActionRun, *, actor: Any) -> ActionRun:
    """A second SRE lets a change run. The requester cannot approve their own run; the
    conditional update makes two approvals at once queue it once, and a request past its
    expiry cannot be approved."""
    if not permissions.has(actor, permissions.APPROVE_ACTIONS):
        raise PermissionDenied("Your role cannot approve runbook actions.")
    if run.requested_by_id == actor.pk:
        raise RunRefused("You asked for this run; a second person must approve it.")
    now = timezone.now()
    claimed = (
        _still_waiting(now)
        .filter(pk=run.pk)
        .update(status=RunStatus.PENDING, approved_by=actor, approved_at=now)
    )
    if not claimed:
        raise RunRefused(_not_waiting(run))
    run.refresh_from_db()
    _queue(run)
    _announce(run, ApprovalEvent.APPROVED)
    return run


def _still_waiting(now: Any) -> Any:
    # Past its expiry a request is no longer approvable, even before the sweeper (every 15 s)
    # has called it expired: the change was judged on a dry run that old.
    return ActionRun.objects.filter(status=RunStatus.AWAITING_APPROVAL).exclude(
        approval_expires_at__lte=now
    )


def _not_waiting(run: ActionRun) -> str:
    run.refresh_from_db()
    if run.status == RunStatus.AWAITING_APPROVAL:
        return (
            "This request expired: nobody answered it in time. Ask again from its page if "
            "the change is still needed."
        )
    return f"This run is no longer waiting for approval: it is {run.get_status_display().lower()}."


@transaction.atomic
def refuse_run(run: ActionRun, reason: str, *, actor: Any) -> ActionRun:
    """A second SRE says no, with a reason the requester and the channels are told. The
    requester withdraws their own request with ``cancel_run`` instead; the conditional update
    makes a refusal lose to an approval given a moment before (and the reverse)."""
    if not permissions.has(actor, permissions.APPROVE_ACTIONS):
        raise PermissionDenied("Your role cannot refuse runbook actions.")
    if run.requested_by_id == actor.pk:
        raise RunRefused("You asked for this run; cancel it instead of refusing it.")
    reason = reason.strip()
    if not reason or len(reason) > REFUSAL_REASON_MAX or "\x00" in reason:
        raise RunRefused(f"Say why, in at most {REFUSAL_REASON_MAX} characters.")
    now = timezone.now()
    claimed = (
        _still_waiting(now)
        .filter(pk=run.pk)
        .update(
            status=RunStatus.REFUSED,
            refused_by=actor,
            refusal_reason=reason,
            finished_at=now,
            error=f"refused by {actor.get_username()}: {reason}",
        )
    )
    if not claimed:
        raise RunRefused(_not_waiting(run))
    run.refresh_from_db()
    _announce(run, ApprovalEvent.REFUSED)
    return run


def request_again(run: ActionRun, *, actor: Any) -> ActionRun:
    """Ask a second SRE to approve what a dry run showed (or what expired unanswered): a new
    run of the same action with the same parameters, checked again by today's rules, with a
    fresh server dry run as its preview."""
    is_dry_run_done = run.dry_run and run.status == RunStatus.SUCCEEDED
    if not (is_dry_run_done or run.status == RunStatus.EXPIRED):
        raise RunRefused(
            "Only a dry run that succeeded, or a request that expired, can be asked again."
        )
    action = (
        Action.objects.select_related("step__runbook").filter(pk=run.action_id).first()
        if run.action_id is not None
        else None
    )
    if action is None or not action.is_change:
        raise RunRefused("Its action is no longer in the runbook; start from the runbook page.")
    params, errors = executors.clean(action.kind, run.parameters)
    if errors:
        raise RunRefused(
            "Its parameters are no longer allowed: "
            + "; ".join(f"{name}: {message}" for name, message in errors.items())
        )
    return request_run(action, params, actor=actor)


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
