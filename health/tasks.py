"""Periodic tasks of the project package."""

from __future__ import annotations

from celery import shared_task

from health import checks as health


@shared_task(name="health.tasks.record_heartbeat", ignore_result=True)
def record_heartbeat() -> None:
    """Beat schedules it, a worker runs it: a fresh row proves both are alive."""
    health.record_heartbeat()
