"""Approvals reaching people: what the SRE channels hear about a change that needs a second
SRE (asked, approved, refused, expired), the sweep that expires requests nobody answered, and
what a home page lists (runs awaiting this user's approval, this user's own requests).

The requests themselves, approvals and refusals are ``runbooks.actions``; the notice for each
is queued after its transaction commits (``runbooks.tasks.send_approval_notice``), so a
slow mail server never holds a click, and each transition, claimed by a conditional update,
is announced once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core import formatting, permissions
from core.choices import Severity
from notifications import delivery
from notifications.delivery import Message
from notifications.models import Notification
from runbooks.choices import ApprovalEvent, RunStatus
from runbooks.models import ActionRun

# The category channels route on: a channel with no categories (every category) hears it, as
# the checklists' overdue notices; a channel kept for, say, business metrics does not.
CATEGORY = "runbooks"
# Seconds the notices of one event may take in all (the task's soft limit is above it):
# past this, the channels left are recorded as not attempted.
SEND_BUDGET = 30.0
# The home page lists this many runs awaiting approval, and the user's own requests decided
# within RECENT; the runbooks index and the audit have them all.
HOME_SHOWN = 10
RECENT = timedelta(hours=24)
# A notice quotes at most this much of the preview and the parameters (a JSON body may be
# 10,000 characters): the run's page has all of it, and chat services cut long messages.
PREVIEW_LINES = 20
LINE_MAX = 300
PARAMETERS_MAX = 1000


def ttl() -> int:
    """Seconds a request waits for approval before it expires (``RUNBOOK_APPROVAL_TTL``)."""
    return int(settings.RUNBOOK_APPROVAL_TTL)


def run_url(run: ActionRun) -> str:
    """The run page's absolute address, from ``PANEL_URL`` (never a request's Host header,
    which whoever sends the request chooses)."""
    return settings.PANEL_URL + reverse("runbooks:run", args=[run.pk])


# --- the notices -----------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… (the rest on the run's page)"


def _when(moment: datetime | None) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M %Z}" if moment else "—"


def compose(run: ActionRun, event: str) -> Message:
    """The message the SRE channels get for ``event`` on ``run``: what, asked by whom, with
    which parameters, and the link to approve or follow it."""
    what = f"“{run.action_label}” ({run.runbook_name})"
    asker = run.requested_by.get_username()
    lines: list[str]
    if event == ApprovalEvent.REQUESTED:
        subject = f"[APPROVAL NEEDED] {asker} asks to run {what}"
        lines = [
            f"{asker} asked at {_when(run.requested_at)} to run {what}; a second SRE must "
            "approve or refuse it.",
            f"Parameters: {_cut(run.parameters_text, PARAMETERS_MAX)}",
        ]
        if run.preview:
            preview = run.preview.splitlines()
            lines += ["What it would change:"]
            lines += [_cut(line, LINE_MAX) for line in preview[:PREVIEW_LINES]]
            if len(preview) > PREVIEW_LINES:
                lines.append(f"… {len(preview) - PREVIEW_LINES} more line(s) on the run's page")
        if run.approval_expires_at:
            lines.append(f"It expires at {_when(run.approval_expires_at)} if nobody answers.")
        lines.append(f"Approve or refuse: {run_url(run)}")
    elif event == ApprovalEvent.APPROVED:
        approver = run.approved_by.get_username() if run.approved_by else "someone"
        subject = f"[APPROVED] {approver} approved {asker}'s {what}"
        lines = [
            f"{approver} approved at {_when(run.approved_at)} the run {asker} asked for; "
            "it is queued.",
            f"Parameters: {_cut(run.parameters_text, PARAMETERS_MAX)}",
            f"Follow it: {run_url(run)}",
        ]
    elif event == ApprovalEvent.REFUSED:
        refuser = run.refused_by.get_username() if run.refused_by else "someone"
        subject = f"[REFUSED] {refuser} refused {asker}'s {what}"
        lines = [
            f"{refuser} refused at {_when(run.finished_at)} the run {asker} asked for; "
            "it will not run.",
            f"Reason: {run.refusal_reason}",
            f"Parameters: {_cut(run.parameters_text, PARAMETERS_MAX)}",
            run_url(run),
        ]
    elif event == ApprovalEvent.EXPIRED:
        subject = f"[EXPIRED] nobody approved {asker}'s {what}"
        lines = [
            f"Nobody approved or refused it within {formatting.span(timedelta(seconds=ttl()))}"
            f" of {_when(run.requested_at)}; it will not run. Ask again from its page if it "
            "is still needed.",
            f"Parameters: {_cut(run.parameters_text, PARAMETERS_MAX)}",
            run_url(run),
        ]
    else:
        raise ValueError(f"not an approval event: {event!r}")
    return Message(
        subject=subject, body="\n".join(lines), category=CATEGORY, severity=Severity.WARNING
    )


def channel_names() -> list[str]:
    """The channels the notices go to now (the requester's page names them)."""
    return [c.name for c in delivery.routed_channels(CATEGORY, Severity.WARNING)]


def announce(run: ActionRun, event: str) -> list[Notification]:
    """Send ``event``'s notice to every enabled channel routed to runbooks, each attempt
    recorded (``notifications.delivery``)."""
    return delivery.send(compose(run, event), deadline=time.monotonic() + SEND_BUDGET)


# --- expiry ------------------------------------------------------------------------------------


def expire_unanswered(now: datetime | None = None) -> list[int]:
    """Requests past their ``approval_expires_at`` become ``expired``; returns the ids this
    call expired. The conditional update loses to an approval, a refusal or another sweeper
    that got there first, so each is expired (and announced) once."""
    now = now or timezone.now()
    expired = []
    due = ActionRun.objects.filter(
        status=RunStatus.AWAITING_APPROVAL, approval_expires_at__lte=now
    ).values_list("pk", flat=True)
    for pk in list(due):
        reason = (
            "expired: nobody approved or refused it within "
            f"{formatting.span(timedelta(seconds=ttl()))}"
        )
        if ActionRun.objects.filter(
            pk=pk, status=RunStatus.AWAITING_APPROVAL, approval_expires_at__lte=now
        ).update(status=RunStatus.EXPIRED, finished_at=now, error=reason):
            expired.append(pk)
    return expired


# --- what a home page lists --------------------------------------------------------------------


@dataclass(frozen=True)
class HomeApprovals:
    """``awaiting``: the oldest runs awaiting this user's approval (asked by someone else),
    ``awaiting_count`` all of them; ``mine``: this user's requests still waiting or decided
    within ``RECENT``, newest first."""

    can_approve: bool
    awaiting: list[ActionRun]
    awaiting_count: int
    mine: list[ActionRun]


def awaiting_approval_by(user: Any) -> Any:
    """Runs waiting for ``user``'s approval: asked by someone else (the navigation counts the
    same rows)."""
    return ActionRun.objects.filter(status=RunStatus.AWAITING_APPROVAL).exclude(
        requested_by_id=user.pk
    )


def for_home(user: Any, now: datetime | None = None) -> HomeApprovals:
    now = now or timezone.now()
    can_approve = permissions.has(user, permissions.APPROVE_ACTIONS)
    awaiting: list[ActionRun] = []
    count = 0
    if can_approve:
        waiting = (
            awaiting_approval_by(user)
            .select_related("requested_by")
            .defer("output")
            .order_by("requested_at", "pk")
        )
        awaiting = list(waiting[:HOME_SHOWN])
        count = len(awaiting) if len(awaiting) < HOME_SHOWN else waiting.count()
    since = now - RECENT
    mine = list(
        ActionRun.objects.filter(requested_by_id=user.pk, dry_run=False)
        .filter(
            Q(status=RunStatus.AWAITING_APPROVAL)
            | Q(approved_at__gte=since)
            | Q(status__in=(RunStatus.REFUSED, RunStatus.EXPIRED), finished_at__gte=since)
        )
        .select_related("approved_by", "refused_by")
        .defer("output", "preview")
        .order_by("-requested_at", "-pk")[:HOME_SHOWN]
    )
    return HomeApprovals(can_approve, awaiting, count, mine)
