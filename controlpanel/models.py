"""Models of the project package: the permission catalogue and the beat heartbeat."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone


class Access(models.Model):
    """Holder of the panel's role permissions, which belong to no single table.

    Unmanaged and without a table: Django still creates its permissions, so groups can be given
    them and views can check them with ``user.has_perm("controlpanel.<codename>")``.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_business", "Can view the overview and business dashboards"),
            ("view_operations", "Can view SRE dashboards, alerts and runbooks"),
            ("run_actions", "Can request runbook actions"),
            ("approve_actions", "Can approve another person's destructive runbook actions"),
            ("sign_off_checklists", "Can check items and sign off maintenance checklists"),
        ]

    def __str__(self) -> str:
        return "role permissions"


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
