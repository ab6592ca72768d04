"""Writes that matter in the checklists app, each in one transaction with an audit row.

Every write to a run's items first locks the run row (``select_for_update``), so a check, a
reopen and a sign-off never interleave; items are then changed one by one with conditional
UPDATEs, so two people working on the same run at once lose nothing: the second to check an
item already checked is told who did.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from checklists import periods
from checklists.choices import Cadence, EventKind, ItemRole, ItemStatus, RunStatus
from checklists.models import (
    ChecklistRun,
    ChecklistTemplate,
    RotaMember,
    RunEvent,
    RunItem,
    RunNote,
    TemplateItem,
)
from checklists.playbook import ChecklistSpec
from core import permissions
from core.promql import duration_seconds

log = logging.getLogger(__name__)

AnyUser = User | AnonymousUser | AbstractBaseUser


class ChecklistError(Exception):
    """A refused write, with the reason in words for the page."""


# --- who may do what ----------------------------------------------------------------------


def can_check(user: AnyUser, item: RunItem) -> bool:
    """SRE items are for SREs; business items for business staff and SREs alike."""
    if not permissions.has(user, permissions.SIGN_OFF_CHECKLISTS):
        return False
    return item.role == ItemRole.BUSINESS or permissions.has(user, permissions.VIEW_OPERATIONS)


def can_sign_off(user: AnyUser) -> bool:
    """Signing off attests the whole run, operations included: SREs only."""
    return permissions.has(user, permissions.SIGN_OFF_CHECKLISTS) and permissions.has(
        user, permissions.VIEW_OPERATIONS
    )


def can_review(user: AnyUser, run: ChecklistRun) -> bool:
    return (
        run.status == RunStatus.AWAITING_REVIEW
        and can_sign_off(user)
        and user.pk != run.signed_off_by_id
    )


# --- templates ----------------------------------------------------------------------------


def _template_items(spec: ChecklistSpec) -> list[tuple[str, str, str, str]]:
    return [(i.title, i.evidence, i.role, i.guidance) for i in spec.items]


def load_templates(checklists: dict[str, ChecklistSpec]) -> list[str]:
    """Create or update the four templates from the playbook's checklists section (read by
    ``checklists.playbook.read_checklists``). A template an administrator edited is left as
    edited (and said so). Runs are never touched: they hold copies. Returns what happened,
    one line per change."""
    lines = []
    for cadence, spec in checklists.items():
        due = timedelta(seconds=duration_seconds(spec.due))
        template = ChecklistTemplate.objects.filter(cadence=cadence).first()
        if template is None:
            template = ChecklistTemplate.objects.create(
                cadence=cadence, title=spec.title, due_after=due
            )
            lines.append(f"checklist {cadence}: created with {len(spec.items)} items")
        elif template.is_edited_in_admin:
            lines.append(f"checklist {cadence}: edited in the admin, left as it is")
            continue
        else:
            if (template.title, template.due_after) != (spec.title, due):
                template.title, template.due_after = spec.title, due
                template.save()
                lines.append(f"checklist {cadence}: title or due time updated")
        current = [
            (i.title, i.evidence, i.role, i.guidance)
            for i in template.items.order_by("position", "id")
        ]
        if current != _template_items(spec):
            if current:
                lines.append(f"checklist {cadence}: items updated")
            template.items.all().delete()
            TemplateItem.objects.bulk_create(
                TemplateItem(
                    template=template,
                    position=position,
                    title=title,
                    evidence=evidence,
                    role=role,
                    guidance=guidance,
                )
                for position, (title, evidence, role, guidance) in enumerate(
                    _template_items(spec), start=1
                )
            )
    return lines


# --- opening periods ----------------------------------------------------------------------


def _owner_for(cadence: str, start: Any) -> User | None:
    """The rota's turn for this period: members of the cadence (or of every cadence) in
    position order, one period each."""
    members = list(
        RotaMember.objects.filter(is_active=True, user__is_active=True)
        .filter(cadence__in=[cadence, ""])
        .select_related("user")
        .order_by("position", "id")
    )
    if not members:
        return None
    if cadence == Cadence.DAILY:
        index = start.toordinal()
    elif cadence == Cadence.WEEKLY:
        index = start.toordinal() // 7
    elif cadence == Cadence.MONTHLY:
        index = start.year * 12 + start.month
    else:
        index = start.year * 4 + (start.month - 1) // 3
    return members[index % len(members)].user


def open_runs(now: datetime | None = None, *, catch_up: int | None = None) -> list[ChecklistRun]:
    """Open every period's run that is due and missing: the current period of each cadence
    and, after downtime, the missed ones since the newest run (bounded). Safe to call from
    several processes at once: the unique constraint on cadence and period start decides, and
    the loser moves on."""
    from django.conf import settings

    now = now or timezone.now()
    catch_up = catch_up or settings.CHECKLIST_CATCH_UP
    opened = []
    for template in ChecklistTemplate.objects.prefetch_related("items"):
        cadence = template.cadence
        last = ChecklistRun.objects.filter(cadence=cadence).aggregate(last=Max("period_start"))
        for start in periods.starts_to_open(cadence, now, last["last"], catch_up):
            if ChecklistRun.objects.filter(cadence=cadence, period_start=start).exists():
                continue
            run = _open_run(template, start, now)
            if run is not None:
                opened.append(run)
    return opened


def _due(template: ChecklistTemplate, start: Any, now: datetime) -> datetime:
    """The period's due time; a run opened late (a first start mid-period, a missed period
    after downtime) gets its cadence's full time from when it actually opened instead of
    being overdue on arrival."""
    due = periods.due_at(template.cadence, start, template.due_after)
    scheduled = periods.opens_at(template.cadence, start)
    if now > scheduled:
        due = max(due, now + (due - scheduled))
    return due


def _open_run(template: ChecklistTemplate, start: Any, now: datetime) -> ChecklistRun | None:
    cadence = template.cadence
    try:
        with transaction.atomic():
            run = ChecklistRun.objects.create(
                cadence=cadence,
                period_start=start,
                period_end=periods.period_end(cadence, start),
                title=template.title,
                opened_at=now,
                due_at=_due(template, start, now),
                owner=_owner_for(cadence, start),
            )
            RunItem.objects.bulk_create(
                RunItem(
                    run=run,
                    position=position,
                    title=item.title,
                    evidence=item.evidence,
                    role=item.role,
                    guidance=item.guidance,
                )
                for position, item in enumerate(template.items.all(), start=1)
            )
            RunEvent.objects.create(
                run=run, kind=EventKind.OPENED, at=now, detail=f"{run.items.count()} items"
            )
    except IntegrityError:
        # Another process opened this period a moment ago: that run is the one.
        log.info("checklist %s %s was opened by another process", cadence, start)
        return None
    log.info("opened checklist run %s", run)
    return run


# --- working on a run ---------------------------------------------------------------------


def _lock(run_pk: int) -> ChecklistRun:
    run = ChecklistRun.objects.select_for_update().filter(pk=run_pk).first()
    if run is None:
        raise ChecklistError("This checklist run does not exist.")
    return run


def _refuse_if_signed(run: ChecklistRun) -> None:
    if run.is_signed:
        raise ChecklistError(
            f"This run was signed off by {run.signed_off_by} at "
            f"{timezone.localtime(run.signed_off_at):%Y-%m-%d %H:%M}: it cannot be changed. "
            "Add a note to correct it."
        )


def _finish_item(item: RunItem, *, actor: User, status: str, note: str) -> RunItem:
    run = _lock(item.run_id)
    _refuse_if_signed(run)
    if not can_check(actor, item):
        raise ChecklistError(f"“{item.title}” is checked by {item.get_role_display()}.")
    now = timezone.now()
    updated = RunItem.objects.filter(pk=item.pk, status=ItemStatus.PENDING).update(
        status=status, checked_by=actor, checked_at=now, note=note
    )
    if not updated:
        current = RunItem.objects.select_related("checked_by").get(pk=item.pk)
        raise ChecklistError(
            f"“{current.title}” was already marked {current.get_status_display().lower()} by "
            f"{current.checked_by} at {timezone.localtime(current.checked_at):%H:%M}."
        )
    kind = EventKind.CHECKED if status == ItemStatus.DONE else EventKind.NOT_APPLICABLE
    detail = item.title + (f": {note}" if note else "")
    RunEvent.objects.create(run=run, kind=kind, actor=actor, at=now, detail=detail)
    return RunItem.objects.get(pk=item.pk)


@transaction.atomic
def check_item(item: RunItem, *, actor: User, note: str = "") -> RunItem:
    """Mark an item done by ``actor``, with an optional note."""
    return _finish_item(item, actor=actor, status=ItemStatus.DONE, note=note.strip())


@transaction.atomic
def mark_not_applicable(item: RunItem, *, actor: User, reason: str) -> RunItem:
    """Mark an item not applicable; the reason is required."""
    if not reason.strip():
        raise ChecklistError("Say why the item does not apply.")
    return _finish_item(item, actor=actor, status=ItemStatus.NOT_APPLICABLE, note=reason.strip())


@transaction.atomic
def reopen_item(item: RunItem, *, actor: User) -> RunItem:
    """Undo a check before sign-off (the audit keeps who checked it first)."""
    run = _lock(item.run_id)
    _refuse_if_signed(run)
    if not can_check(actor, item):
        raise ChecklistError(f"“{item.title}” is checked by {item.get_role_display()}.")
    updated = (
        RunItem.objects.filter(pk=item.pk)
        .exclude(status=ItemStatus.PENDING)
        .update(status=ItemStatus.PENDING, checked_by=None, checked_at=None, note="")
    )
    if updated:
        RunEvent.objects.create(run=run, kind=EventKind.REOPENED, actor=actor, detail=item.title)
    return RunItem.objects.get(pk=item.pk)


@transaction.atomic
def sign_off(run: ChecklistRun, *, actor: User) -> ChecklistRun:
    """Sign the run off once every item is done or not applicable. Daily and weekly runs are
    then complete; monthly and quarterly runs wait for a second person's review."""
    run = _lock(run.pk)
    _refuse_if_signed(run)
    if not can_sign_off(actor):
        raise ChecklistError("Only SREs sign off checklist runs.")
    pending = list(run.items.filter(status=ItemStatus.PENDING).values_list("title", flat=True))
    if pending:
        raise ChecklistError(f"Not every item is done yet: {'; '.join(pending)}.")
    status = RunStatus.AWAITING_REVIEW if run.needs_review else RunStatus.COMPLETE
    now = timezone.now()
    ChecklistRun.objects.filter(pk=run.pk, signed_off_at__isnull=True).update(
        status=status, signed_off_by=actor, signed_off_at=now
    )
    RunEvent.objects.create(run=run, kind=EventKind.SIGNED_OFF, actor=actor, at=now)
    return ChecklistRun.objects.get(pk=run.pk)


@transaction.atomic
def review(run: ChecklistRun, *, actor: User) -> ChecklistRun:
    """The second person's review of a signed-off monthly or quarterly run: completes it.
    The signer cannot review their own run."""
    run = _lock(run.pk)
    if run.status != RunStatus.AWAITING_REVIEW:
        raise ChecklistError("This run is not waiting for a review.")
    if actor.pk == run.signed_off_by_id:
        raise ChecklistError("You signed this run off: a different person must review it.")
    if not can_sign_off(actor):
        raise ChecklistError("Only SREs review checklist runs.")
    now = timezone.now()
    ChecklistRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_REVIEW).exclude(
        signed_off_by=actor
    ).update(status=RunStatus.COMPLETE, reviewed_by=actor, reviewed_at=now)
    RunEvent.objects.create(run=run, kind=EventKind.REVIEWED, actor=actor, at=now)
    return ChecklistRun.objects.get(pk=run.pk)


@transaction.atomic
def add_note(run: ChecklistRun, *, actor: User, text: str, item: RunItem | None = None) -> RunNote:
    """A note on the run (or one of its items), before or after sign-off: the way a signed
    record is corrected."""
    if not text.strip():
        raise ChecklistError("A note needs some text.")
    note = RunNote.objects.create(run=run, item=item, author=actor, text=text.strip())
    RunEvent.objects.create(run=run, kind=EventKind.NOTE, actor=actor, detail=text.strip()[:500])
    return note


@transaction.atomic
def set_owner(run: ChecklistRun, *, actor: User, owner: User | None) -> ChecklistRun:
    """Hand the run to someone else before it is signed off."""
    run = _lock(run.pk)
    _refuse_if_signed(run)
    ChecklistRun.objects.filter(pk=run.pk, signed_off_at__isnull=True).update(owner=owner)
    RunEvent.objects.create(
        run=run, kind=EventKind.OWNER, actor=actor, detail=str(owner or "nobody")
    )
    return ChecklistRun.objects.get(pk=run.pk)


def store_evidence(run: ChecklistRun, evidence: dict[str, Any], *, actor: User | None) -> bool:
    """Keep a snapshot gathered outside any transaction. A run signed off in the meantime
    keeps the snapshot it was signed with: False."""
    now = timezone.now()
    with transaction.atomic():
        updated = ChecklistRun.objects.filter(pk=run.pk, signed_off_at__isnull=True).update(
            evidence=evidence, evidence_at=now
        )
        if updated:
            problems = evidence.get("problems") or []
            detail = "complete" if not problems else f"{len(problems)} source(s) did not answer"
            RunEvent.objects.create(
                run=run, kind=EventKind.EVIDENCE, actor=actor, at=now, detail=detail
            )
    return bool(updated)


def claim_overdue_notice(run: ChecklistRun, now: datetime) -> bool:
    """Claim the one overdue notice of a run: False when another process sent it."""
    with transaction.atomic():
        claimed = ChecklistRun.objects.filter(
            pk=run.pk, status=RunStatus.OPEN, overdue_notified_at__isnull=True
        ).update(overdue_notified_at=now)
        if claimed:
            RunEvent.objects.create(run=run, kind=EventKind.OVERDUE, at=now)
    return bool(claimed)
