"""Periodic tasks of the alerts app."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import shared_task
from django.conf import settings
from django.db import transaction

from alerts import notify
from alerts.cycle import CycleResult, evaluate_cycle
from alerts.models import StateChange
from alerts.rules_export import RuleFileRejected, write_rule_file
from alerts.signals import states_changed
from health import slots
from integrations import prometheus
from notifications.models import NotificationChannel

logger = logging.getLogger(__name__)

# The slot name of the evaluation cycle (``health.slots``); /health says who ran the last.
EVALUATION_TASK = "evaluate-thresholds"


@shared_task(name="alerts.tasks.evaluate_thresholds", ignore_result=True)
def evaluate_thresholds() -> None:
    """Beat sends it every EVALUATION_INTERVAL; a message older than that expires unread.
    Exactly one cycle a tick, however many beats send it and workers receive it, and never one
    beside a cycle that overran (``health.slots``)."""
    with slots.exactly_once(EVALUATION_TASK, settings.EVALUATION_INTERVAL) as mine:
        if mine:
            run_cycle()


def run_cycle() -> CycleResult:
    """One evaluation cycle, then the messages its changes deserve, queued for a worker, and
    the changes told to the apps above (``alerts.signals.states_changed``: incidents)."""
    result = evaluate_cycle()
    queue_notifications(result.state_changes)
    for receiver, outcome in states_changed.send_robust(
        sender=CycleResult, changes=result.state_changes
    ):
        if isinstance(outcome, Exception):
            logger.error("%s failed on the cycle's changes", receiver, exc_info=outcome)
    return result


def queue_notifications(changes: Sequence[StateChange]) -> None:
    """Hand the changes worth a message to Celery once the caller's transaction commits (the
    task must find the rows). Without an enabled channel nothing is queued, so a panel without
    channels never needs the broker for this."""
    ids = [c.pk for c in changes if notify.should_notify(c.from_state, c.to_state)]
    if not ids or not NotificationChannel.objects.filter(is_enabled=True).exists():
        return
    # robust: the states are committed; a broker outage is logged, it does not fail the cycle.
    transaction.on_commit(lambda: send_notifications.delay(ids), robust=True)


@shared_task(name="alerts.tasks.send_notifications", ignore_result=True)
def send_notifications(state_change_ids: list[int]) -> None:
    """Queued after a cycle's changes commit. Changes deleted meanwhile are skipped. Not
    retried: every attempt is already recorded with its error, and a retry would send again to
    the channels that did receive it. The batch keeps inside the time limits
    (``notify.BATCH_BUDGET``)."""
    changes = list(
        StateChange.objects.filter(pk__in=state_change_ids)
        .select_related("check_obj__threshold__metric", "check_obj__threshold__alert")
        .order_by("at", "pk")
    )
    notify.notify(changes)


@shared_task(name="alerts.tasks.publish_rules", ignore_result=True)
def publish_rules() -> str:
    """After a threshold change: rewrite the stack's rule file and have Prometheus reload it."""
    try:
        path = write_rule_file()
    except RuleFileRejected as exc:
        logger.error("rules not written, promtool refused them: %s", exc)
        return f"not written: promtool refused the rules: {exc}"
    outcome = prometheus.reload_configuration() if settings.PROMETHEUS_RELOAD else "reload disabled"
    logger.info("rules written to %s: %s", path, outcome)
    return outcome
