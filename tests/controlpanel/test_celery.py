from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from controlpanel.celery import app
from health.models import Heartbeat
from health.tasks import record_heartbeat
from tests.conftest import celery_broker


def test_it_speaks_json_only_and_bounds_every_task_in_time():
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def test_it_schedules_the_heartbeat_with_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["record-beat-heartbeat"]
    assert entry["task"] == record_heartbeat.name
    assert entry["task"] in app.tasks


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_it_records_a_heartbeat_through_a_real_broker_and_worker(redis_server):
    with (
        celery_broker(redis_server.url),
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        # The task ignores its result, so ``.get()`` would return at once without waiting
        # for the worker: wait for the row the worker writes instead.
        record_heartbeat.apply_async()
        deadline = time.monotonic() + 20
        while not Heartbeat.objects.filter(name="celery-beat").exists():
            assert time.monotonic() < deadline, "the worker wrote no heartbeat within 20 s"
            time.sleep(0.05)
