"""Exactly-once periodic work across any number of beats and workers.

Beat sends a periodic task every interval; with two beats (one per host, or one restarted on
another host while the first still runs) or a worker pool of several, the same tick would run
twice, doubling state changes and notifications, and a cycle that overran its interval would
run beside the next. Each run therefore claims the task first, with one conditional UPDATE of
the task's row (``TaskSlot``):

- the last claim must be at least half an interval old: the second beat's message for the
  same tick, or a redelivery, finds it fresh and is skipped, whatever the two beats' phase
  (a slot number taken from each worker's clock would split one tick in two at a boundary);
- the last run must have finished, or its lease ended (two intervals, and never less than
  Celery's hard time limit: a run is never joined while it may still be running), so a
  worker killed mid-run holds the task no longer than that;
- a last claim in the future (a host whose clock ran ahead, or a clock stepped back) does
  not hold the task: it is taken over, and logged.

Zero rows updated means another host has this tick: the run is skipped. The database, not a
Redis lock, because it is the store every host already shares and trusts for the state the
task writes, the update is atomic on SQLite and PostgreSQL alike, and the row stays as the
record of which host ran the last cycle (shown by ``/health``).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from health.models import TaskSlot

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def host() -> str:
    """This process, as the self-monitoring names it: host name and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Claim:
    """One claim of a tick. ``claimed_at`` tells it from a later claim of the same host (the
    next tick, taken over after this one's lease ended)."""

    task: str
    slot: int
    host: str
    claimed_at: datetime
    lease: float = 0.0  # seconds from claimed_at, as claimed

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "claimed_at": self.claimed_at.isoformat()}

    @classmethod
    def from_json(cls, data: dict) -> Claim:
        return cls(**{**data, "claimed_at": datetime.fromisoformat(data["claimed_at"])})

    def _row(self) -> QuerySet[TaskSlot]:
        return TaskSlot.objects.filter(
            task=self.task, slot=self.slot, host=self.host, claimed_at=self.claimed_at
        )


def lease_seconds(interval: float) -> float:
    """How long a claim holds its task: two intervals, and never less than Celery's hard time
    limit (a run is never joined while it may still be running)."""
    return max(2 * interval, settings.CELERY_TASK_TIME_LIMIT + 10)


def claim(
    task: str, interval: float, *, lease: float | None = None, now: datetime | None = None
) -> Claim | None:
    """Claim this tick of ``task`` for this process, or None when another has it (or the
    last run is still within its lease)."""
    now = now or timezone.now()
    slot = int(now.timestamp() // interval)
    TaskSlot.objects.get_or_create(
        task=task,
        defaults={"slot": -1, "claimed_at": EPOCH, "lease_until": EPOCH, "finished_at": EPOCH},
    )
    me = host()
    held = lease if lease is not None else lease_seconds(interval)
    ahead = now + timedelta(seconds=interval)  # a claim later than this is a clock's mistake
    if TaskSlot.objects.filter(task=task, claimed_at__gt=ahead).exists():
        log.warning("%s: the last claim is in the future (a clock ran ahead): taking it", task)
    spaced = Q(claimed_at__lte=now - timedelta(seconds=interval / 2))
    free = Q(finished_at__isnull=False) | Q(lease_until__lt=now)
    updated = (
        TaskSlot.objects.filter(task=task)
        .filter((spaced & free) | Q(claimed_at__gt=ahead))
        .update(
            slot=slot,
            host=me,
            claimed_at=now,
            lease_until=now + timedelta(seconds=held),
            finished_at=None,
        )
    )
    return Claim(task, slot, me, now, held) if updated else None


def finish(done: Claim, now: datetime | None = None, *, unless_renewed: bool = False) -> bool:
    """Release the tick; False when it was no longer this claim's (its lease ended and
    another run took the task: the caller's work overran). ``unless_renewed``: only if no part
    of the work has renewed the lease (``renew``), which then holds the tick."""
    row = done._row().filter(finished_at__isnull=True)
    if unless_renewed:
        row = row.filter(lease_until=done.claimed_at + timedelta(seconds=done.lease))
    return bool(row.update(finished_at=now or timezone.now()))


def renew(held: Claim, seconds: float, now: datetime | None = None) -> bool:
    """Keep the tick for another ``seconds`` of work that belongs to it (a shard of a split
    cycle, which may wait in the queue behind others); False when the claim is over (finished,
    its lease ended, or another run took it), and the work must not be done."""
    now = now or timezone.now()
    until = now + timedelta(seconds=seconds)
    return bool(
        held._row()
        .filter(finished_at__isnull=True, lease_until__gt=now)
        # always later, if only by a microsecond: a renewed claim is told from one that was not
        .update(lease_until=Greatest(F("lease_until") + timedelta(microseconds=1), Value(until)))
    )


@contextmanager
def exactly_once(task: str, interval: float, *, lease: float | None = None) -> Iterator[bool]:
    """``with exactly_once("evaluate-thresholds", 60) as mine: if mine: …``: True for the one
    process that claimed this tick; the claim is released when the block ends, even by an
    error (the next tick may then run)."""
    claimed = claim(task, interval, lease=lease)
    if claimed is None:
        log.info("%s: this tick is another host's (or the last run has not finished)", task)
        yield False
        return
    try:
        yield True
    finally:
        finish(claimed)


def last_runs(*, with_hosts: bool = False) -> dict[str, dict[str, str | None]]:
    """When each claimed task last ran and, ``with_hosts``, on which host: the public
    ``/health`` says when, the signed-in ``/api/status`` also where (host names and process
    ids are not for anonymous eyes)."""
    runs: dict[str, dict[str, str | None]] = {}
    for row in TaskSlot.objects.filter(slot__gte=0).order_by("task"):
        runs[row.task] = {
            "claimed_at": row.claimed_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        }
        if with_hosts:
            runs[row.task]["host"] = row.host
    return runs
