"""The panel's own liveness records."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """The last time a periodic process proved it was alive.

    Celery beat schedules ``record_heartbeat`` and a worker runs it, so a fresh row means both
    the scheduler and a worker are working. ``/health`` and the banner read it.
    """

    name = models.CharField(max_length=64, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or timezone.now()) - self.last_seen

    def is_fresh(self, interval_seconds: float, now: datetime | None = None) -> bool:
        """Fresh while younger than three intervals: one missed beat is not an outage."""
        return self.age(now) <= timedelta(seconds=3 * interval_seconds)


class TaskSlot(models.Model):
    """The last slot (a tick of its interval) a periodic task was claimed for, by which host,
    and whether it finished. Any number of beats may send the task and any number of workers
    may receive it: only the one whose conditional update moves ``slot`` forward runs it
    (``health.slots``). The row is also the self-monitoring's answer to "who ran the last
    cycle"."""

    task = models.CharField(max_length=64, unique=True)
    slot = models.BigIntegerField()
    host = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField()
    # a run that never finishes (its worker killed) holds the task until its lease ends
    lease_until = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.task} slot {self.slot} on {self.host or '?'}"
