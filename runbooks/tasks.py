"""Celery tasks of the runbooks app: thin, by primary key, on their own queue."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from health import slots
from runbooks import approvals, execution
from runbooks.choices import ApprovalEvent
from runbooks.models import ActionRun


# acks_late: the message is acknowledged only after the run ends, so a worker killed while it
# holds the message leaves it to be delivered again. The claim (pending → running) makes that
# redelivery a no-op: the run is already running, or lost, and is never run twice.
@shared_task(
    name="runbooks.tasks.execute_run",
    bind=True,
    ignore_result=True,
    acks_late=True,
    soft_time_limit=settings.RUNBOOK_SOFT_TIME_LIMIT,
    time_limit=settings.RUNBOOK_TIME_LIMIT,
)
def execute_run(self, run_id: int) -> None:  # type: ignore[no-untyped-def]
    worker = str(getattr(self.request, "hostname", "") or "worker")
    if not execution.claim_run(run_id, worker=worker):
        return  # gone, cancelled, not approved yet, or already claimed by a delivery before
    run = ActionRun.objects.filter(pk=run_id).first()
    if run is None:
        return
    execution.run_claimed(run)


@shared_task(name="runbooks.tasks.sweep_runs", ignore_result=True)
def sweep_runs() -> int:
    """Beat runs it every 15 s: runs whose worker died become ``lost``, and requests nobody
    approved within ``RUNBOOK_APPROVAL_TTL`` become ``expired`` (and are announced). Once a
    tick across every beat and worker (``health.slots``)."""
    with slots.exactly_once("sweep-lost-runbook-runs", settings.RUNBOOK_SWEEP_INTERVAL) as mine:
        if not mine:
            return 0
        return _sweep()


def _sweep() -> int:
    swept = execution.sweep_runs()
    expired = approvals.expire_unanswered()
    for run_id in expired:
        send_approval_notice.delay(run_id, str(ApprovalEvent.EXPIRED))
    return swept + len(expired)


# Not acks_late: a notice sent twice after a worker died mid-delivery would tell the channels
# twice; one lost is recorded nowhere, but every transition is on the run's page and the home
# pages. The soft limit sits above approvals.SEND_BUDGET, after which deliveries left are
# recorded as not attempted.
@shared_task(
    name="runbooks.tasks.send_approval_notice",
    ignore_result=True,
    soft_time_limit=approvals.SEND_BUDGET + 15,
    time_limit=approvals.SEND_BUDGET + 30,
)
def send_approval_notice(run_id: int, event: str) -> None:
    """Tell the SRE channels that a run was asked for approval, approved, refused or expired."""
    if event not in ApprovalEvent.values:
        return
    run = (
        ActionRun.objects.select_related("requested_by", "approved_by", "refused_by")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        return
    approvals.announce(run, event)
