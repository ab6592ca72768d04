"""Periodic tasks of the alerts app."""

from __future__ import annotations

from celery import shared_task

from alerts.cycle import evaluate_cycle


@shared_task(name="alerts.tasks.evaluate_thresholds", ignore_result=True)
def evaluate_thresholds() -> None:
    """Beat runs it every EVALUATION_INTERVAL; a cycle that overran its interval is skipped by
    the expiry in the schedule rather than queued behind the next."""
    evaluate_cycle()
