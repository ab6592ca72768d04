"""Exactly-once periodic work across any number of beats and workers.

Beat sends a periodic task every interval; with two beats (one per host, or one restarted on
another host while the first still runs) or a worker pool of several, the same tick would run
twice, doubling state changes and notifications, and a cycle that overran its interval would
run beside the next. Each run therefore claims its slot first, with one conditional UPDATE of
the task's row (``TaskSlot``):

- the slot is the interval's tick (``now // interval``) and must be newer than the last one
  claimed;
- the last run must have finished, or its lease (two intervals by default) ended: a worker
  killed mid-run holds the task no longer than that;
- the last claim must be at least half an interval old, so two beats whose ticks straddle a
  slot boundary do not run two cycles a moment apart.

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from health.models import TaskSlot

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def host() -> str:
    """This process, as the self-monitoring names it: host name and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Claim:
    task: str
    slot: int
    host: str


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
    updated = (
        TaskSlot.objects.filter(
            task=task, slot__lt=slot, claimed_at__lte=now - timedelta(seconds=interval / 2)
        )
        .filter(Q(finished_at__isnull=False) | Q(lease_until__lt=now))
        .update(
            slot=slot,
            host=me,
            claimed_at=now,
            lease_until=now + timedelta(seconds=lease if lease is not None else 2 * interval),
            finished_at=None,
        )
    )
    return Claim(task, slot, me) if updated else None


def finish(done: Claim, now: datetime | None = None) -> None:
    TaskSlot.objects.filter(task=done.task, slot=done.slot, host=done.host).update(
        finished_at=now or timezone.now()
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


def last_runs() -> dict[str, dict[str, str | None]]:
    """Which host ran the last tick of each claimed task, and when: for ``/health``."""
    return {
        row.task: {
            "host": row.host,
            "claimed_at": row.claimed_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        }
        for row in TaskSlot.objects.filter(slot__gte=0).order_by("task")
    }
