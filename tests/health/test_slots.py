"""Exactly-once periodic work: each tick of a task is claimed by one process, however many
beats send it and workers receive it; an overrun never runs beside the next tick; a worker
killed mid-run holds the task only until its lease ends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection

from alerts import tasks as alert_tasks
from health import slots
from health.models import TaskSlot

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def test_a_tick_is_claimed_once():
    first = slots.claim("evaluate", 60, now=T0 + timedelta(seconds=1))
    assert first is not None and first.slot == int(T0.timestamp() // 60)
    slots.finish(first, now=T0 + timedelta(seconds=2))
    # a second beat's message for the same tick, received by any worker
    assert slots.claim("evaluate", 60, now=T0 + timedelta(seconds=3)) is None


def test_an_overrun_is_not_joined_by_the_next_tick_until_it_ends_or_its_lease_does(settings):
    running = slots.claim("evaluate", 60, now=T0)
    assert running is not None
    assert slots.claim("evaluate", 60, now=T0 + timedelta(seconds=61)) is None  # still running
    # two intervals would be 120 s, but Celery may let the run go on to its hard time limit
    lease = settings.CELERY_TASK_TIME_LIMIT + 10
    assert slots.claim("evaluate", 60, now=T0 + timedelta(seconds=lease - 1)) is None
    # its worker died: after the lease the next tick runs
    late = slots.claim("evaluate", 60, now=T0 + timedelta(seconds=lease + 1))
    assert late is not None and late.slot > running.slot


def test_the_next_tick_runs_once_the_last_finished():
    done = slots.claim("evaluate", 60, now=T0)
    assert done is not None
    slots.finish(done, now=T0 + timedelta(seconds=5))
    assert slots.claim("evaluate", 60, now=T0 + timedelta(seconds=60)) is not None


def test_two_beats_straddling_a_tick_boundary_run_one_cycle_not_two():
    assert slots.claim("evaluate", 60, now=T0 + timedelta(seconds=59.9)) is not None
    TaskSlot.objects.update(finished_at=T0 + timedelta(seconds=59.95))
    # the other beat's message lands 0.2 s later, in the next slot: too soon after the first
    assert slots.claim("evaluate", 60, now=T0 + timedelta(seconds=60.1)) is None


def test_a_late_tick_does_not_cost_the_next_one_nor_a_boundary_split_one():
    # beat's message for 12:00 picked up 35 s late, then 12:01 on time: both run, since
    # they are more than half an interval apart
    first = slots.claim("evaluate", 60, now=T0 + timedelta(seconds=35))
    assert first is not None
    slots.finish(first, now=T0 + timedelta(seconds=36))
    assert slots.claim("evaluate", 60, now=T0 + timedelta(seconds=66)) is not None
    # messages of one tick picked up either side of a slot boundary are still one tick
    TaskSlot.objects.update(finished_at=T0 + timedelta(seconds=67))
    assert slots.claim("evaluate", 60, now=T0 + timedelta(seconds=119.9)) is not None
    TaskSlot.objects.update(finished_at=T0 + timedelta(seconds=120))
    assert slots.claim("evaluate", 60, now=T0 + timedelta(seconds=120.1)) is None


def test_a_claim_from_a_clock_that_ran_ahead_does_not_stop_the_task():
    ahead = slots.claim("evaluate", 60, now=T0 + timedelta(days=1))
    assert ahead is not None  # a host a day fast, never finished
    assert slots.claim("evaluate", 60, now=T0 + timedelta(minutes=1)) is not None


def test_an_error_in_the_run_still_frees_the_next_tick():
    with pytest.raises(RuntimeError), slots.exactly_once("evaluate", 60) as mine:
        assert mine
        raise RuntimeError("Prometheus fell over")
    assert TaskSlot.objects.get(task="evaluate").finished_at is not None


def test_the_evaluation_task_runs_one_cycle_a_tick(monkeypatch):
    cycles = []
    monkeypatch.setattr(alert_tasks, "start_cycle", lambda claimed: cycles.append(1))
    for _ in range(3):  # three beats, or a beat and two redeliveries
        alert_tasks.evaluate_thresholds()
    assert cycles == [1]
    row = TaskSlot.objects.get(task=alert_tasks.EVALUATION_TASK)
    assert row.host == slots.host() and row.finished_at is not None


def test_the_status_api_says_which_host_ran_the_last_cycle(client, sre_client, monkeypatch):
    monkeypatch.setattr(alert_tasks, "start_cycle", lambda claimed: False)
    alert_tasks.evaluate_thresholds()
    periodic = sre_client.get("/api/status").json()["periodic"]
    assert periodic[alert_tasks.EVALUATION_TASK]["host"] == slots.host()
    # the public health answer says when, not where
    public = client.get("/health").json()["periodic"][alert_tasks.EVALUATION_TASK]
    assert public["finished_at"] and "host" not in public


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    # SQLite runs each write transaction alone, so the claims cannot race there and the test
    # could not fail; on PostgreSQL (CI runs it) they do.
    reason="the race needs concurrent writers (PostgreSQL)",
)
@pytest.mark.django_db(transaction=True)
def test_of_eight_workers_claiming_one_tick_at_once_exactly_one_wins():
    slots.claim("evaluate", 60, now=T0 - timedelta(hours=1))  # the row exists, finished below
    TaskSlot.objects.update(finished_at=T0 - timedelta(hours=1))
    barrier = threading.Barrier(8)
    won: list[object] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            if slots.claim("evaluate", 60, now=T0) is not None:
                won.append(1)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(won) == 1


def test_a_renewed_claim_is_not_released_by_a_failed_dispatch():
    """A chord sent in part: a shard that started renewed the lease and holds the tick; the
    dispatch's failure does not release it for the next tick to run beside that shard."""
    claimed = slots.claim("evaluate", 600)  # a lease far longer than a renewal
    assert claimed is not None
    assert slots.renew(claimed, 10)
    assert not slots.finish(claimed, unless_renewed=True)
    assert TaskSlot.objects.get(task="evaluate").finished_at is None
    assert slots.finish(claimed)  # the shards' join releases it


def test_a_claim_not_renewed_is_released_by_a_failed_dispatch():
    claimed = slots.claim("evaluate", 60)
    assert claimed is not None
    assert slots.finish(claimed, unless_renewed=True)
    assert not slots.renew(claimed, 10)  # and a shard arriving later does nothing
