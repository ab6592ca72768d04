"""Periodic tasks of the project package."""

from __future__ import annotations

from celery import shared_task

from controlpanel import health


@shared_task(name="controlpanel.tasks.record_heartbeat", ignore_result=True)
def record_heartbeat() -> None:
    """Beat schedules it, a worker runs it: a fresh row proves both are alive."""
    health.record_heartbeat()
