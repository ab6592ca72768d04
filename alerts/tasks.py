"""Periodic tasks of the alerts app."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from alerts import notifications
from alerts.cycle import evaluate_cycle
from alerts.models import StateChange
from alerts.rules import RuleFileRejected, reload_prometheus, write_rule_file

logger = logging.getLogger(__name__)


@shared_task(name="alerts.tasks.evaluate_thresholds", ignore_result=True)
def evaluate_thresholds() -> None:
    """Beat runs it every EVALUATION_INTERVAL; a cycle that overran its interval is skipped by
    the expiry in the schedule rather than queued behind the next."""
    evaluate_cycle()


@shared_task(name="alerts.tasks.send_notifications", ignore_result=True)
def send_notifications(state_change_ids: list[int]) -> None:
    """Queued by the cycle after its changes commit. Changes deleted meanwhile are skipped.
    Not retried: every attempt is already recorded with its error, and a retry would send
    again to the channels that did receive it. The batch keeps inside the time limits
    (``notifications.BATCH_BUDGET``)."""
    changes = list(
        StateChange.objects.filter(pk__in=state_change_ids)
        .select_related("check_obj__threshold__metric", "check_obj__threshold__alert")
        .order_by("at", "pk")
    )
    notifications.notify(changes)


@shared_task(name="alerts.tasks.publish_rules", ignore_result=True)
def publish_rules() -> str:
    """After a threshold change: rewrite the stack's rule file and have Prometheus reload it."""
    try:
        path = write_rule_file()
    except RuleFileRejected as exc:
        logger.error("rules not written, promtool refused them: %s", exc)
        return f"not written: promtool refused the rules: {exc}"
    outcome = reload_prometheus() if settings.PROMETHEUS_RELOAD else "reload disabled"
    logger.info("rules written to %s: %s", path, outcome)
    return outcome
