"""The Alertmanager loop's periodic work: the stored alerts made to agree with what
Alertmanager holds, also when nobody has the firing list open (the navigation's counts of
firing alerts read the stored rows)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from firing import reconcile
from firing.firing_list import AlertmanagerNow


# Alertmanager answers in milliseconds (integrations.alertmanager.TIMEOUT bounds the call);
# the limits only stop a wedged run from holding a worker.
@shared_task(
    name="firing.tasks.sync_with_alertmanager",
    ignore_result=True,
    soft_time_limit=30,
    time_limit=60,
)
def sync_with_alertmanager() -> int:
    """Resolve the alerts Alertmanager no longer holds (``reconcile.resolve_absent``: only
    when it answered; idempotent, so two beats or a page refreshing at once do no harm)."""
    return reconcile.resolve_absent(AlertmanagerNow.ask(), now=timezone.now())
