"""The worker's side of a run: claim it once, run it with a heartbeat, record how it ended, and
sweep runs whose worker died. The run row is the audit record, failures included."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from runbooks import executors
from runbooks.choices import RunStatus
from runbooks.models import ActionRun

log = logging.getLogger(__name__)


def claim_run(run_id: int, *, worker: str) -> bool:
    """Pending → running, once: a redelivered message finds nothing to claim."""
    now = timezone.now()
    return bool(
        ActionRun.objects.filter(pk=run_id, status=RunStatus.PENDING).update(
            status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker
        )
    )


# A run's output is kept with the run and shown on its page: every action's output is cut
# here, in one place, so that a query matching 100,000 series or a pod's megabyte of logs
# neither fills the database nor a page (bench/hostile.py).
OUTPUT_MAX_LINES = 2000
OUTPUT_LINE_MAX = 2000


def append_output(run_id: int, line: str) -> None:
    ActionRun.objects.filter(pk=run_id).update(
        output=Concat(F("output"), Value(line + "\n")), heartbeat_at=timezone.now()
    )


class _Output:
    """The run's ``emit``: each line appended as it comes, up to ``OUTPUT_MAX_LINES`` lines of
    at most ``OUTPUT_LINE_MAX`` characters; what is cut is counted and said at the end."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.lines = 0
        self.dropped = 0

    def __call__(self, line: str) -> None:
        if self.lines >= OUTPUT_MAX_LINES:
            self.dropped += 1
            return
        self.lines += 1
        if len(line) > OUTPUT_LINE_MAX:
            line = f"{line[:OUTPUT_LINE_MAX]}… ({len(line) - OUTPUT_LINE_MAX:,} characters cut)"
        append_output(self.run_id, line)

    def close(self) -> None:
        if self.dropped:
            append_output(
                self.run_id,
                f"… {self.dropped:,} more line(s) not kept: the output is cut at "
                f"{OUTPUT_MAX_LINES:,} lines",
            )


def finish_run(run_id: int, status: str, error: str = "") -> None:
    """Running → a terminal status (a run the sweeper already called lost stays lost)."""
    ActionRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=status, error=error[:4000], finished_at=timezone.now()
    )


class _Heartbeat:
    """Moves ``heartbeat_at`` every few seconds while an action runs, so that a long quiet
    action is not taken for one whose worker died."""

    def __init__(self, run_id: int, every: float) -> None:
        self.run_id, self.every = run_id, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        try:
            while not self.stop.wait(self.every):
                ActionRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


def run_claimed(run: ActionRun) -> None:
    """Execute a claimed run, its output appended as it comes, and record how it ended.
    Expected failures end it as failed with the reason; so does anything unexpected (with
    the traceback in the log), because a run left "running" would look like it still is."""
    output = _Output(run.pk)
    try:
        with _Heartbeat(run.pk, max(settings.RUNBOOK_LOST_AFTER / 3, 1)):
            try:
                executors.execute(run.kind, run.parameters, output, dry_run=run.dry_run)
            finally:
                output.close()
    except executors.FAILURES as exc:
        finish_run(run.pk, RunStatus.FAILED, str(exc))
        return
    except Exception as exc:
        if type(exc).__name__ == "SoftTimeLimitExceeded":
            finish_run(
                run.pk,
                RunStatus.FAILED,
                f"time limit: the action took longer than {settings.RUNBOOK_SOFT_TIME_LIMIT} s "
                "and was stopped",
            )
            return
        log.exception("runbook run %s failed unexpectedly", run.pk)
        finish_run(run.pk, RunStatus.FAILED, f"unexpected error: {type(exc).__name__}: {exc}")
        return
    finish_run(run.pk, RunStatus.SUCCEEDED)


def sweep_runs(now: Any = None) -> int:
    """Runs whose heartbeat stopped: past the hard time limit they failed on it (the worker
    killed its process), otherwise their worker died (``lost``). Never run again: whoever
    picks them up must decide, knowing the action may have half happened."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.RUNBOOK_LOST_AFTER)
    count = 0
    for run in ActionRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=stale):
        ran = (now - run.started_at).total_seconds() if run.started_at else 0
        if ran >= settings.RUNBOOK_TIME_LIMIT:
            status = RunStatus.FAILED
            reason = (
                f"hard time limit: killed after {settings.RUNBOOK_TIME_LIMIT} s; "
                "the action may have half happened"
            )
        else:
            status = RunStatus.LOST
            reason = (
                f"the worker {run.worker or '(unknown)'} stopped answering while running it; "
                "the action may have half happened — check before running it again"
            )
        count += ActionRun.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING, heartbeat_at__lt=stale
        ).update(status=status, error=reason, finished_at=now)
    return count
