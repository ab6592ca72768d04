"""A cycle split into shard tasks (``alerts.tasks.start_cycle``): the shards judge disjoint
checks that together are every check, a sharded cycle stores what the whole cycle would, each
change is written (and handed to notifications) once, a failing shard does not stop the others
nor the join, and through a real broker and worker the join releases the tick."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from alerts import cycle
from alerts import tasks as alert_tasks
from alerts.evaluation import Reading
from alerts.models import Check, StateChange, Threshold
from controlpanel.celery import app
from health.checks import EVALUATION_HEARTBEAT
from health.models import Heartbeat, TaskSlot
from tests.conftest import celery_broker

pytestmark = [pytest.mark.services]


@pytest.fixture
def loaded(settings, demo_prometheus):
    _, url = demo_prometheus
    settings.PROMETHEUS_URL = url
    call_command("load_playbook", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return list(Threshold.objects.select_related("metric", "alert"))


def stored() -> dict[str, tuple[str, float | None, str]]:
    return {c.signature: (c.state, c.value, c.reason) for c in Check.objects.all()}


def test_the_buckets_of_a_partition_cover_every_series_once():
    threshold = Threshold(pk=1, key="pod_memory", scope={})
    readings: cycle.Readings = {
        1: {(("pod", f"backend-{n}"),): Reading(value=n / 10, volume=None) for n in range(500)}
    }
    parts = cycle.partition([threshold], readings, 4)
    back = [cycle.unpartition(part)[1] for part in parts]
    assert sum(len(b) for b in back) == 500
    assert {key for b in back for key in b} == set(readings[1])
    for index, part in enumerate(back):
        assert part, "a shard with nothing at 500 series: the hash does not spread"
        for key, reading in part.items():
            assert cycle.Shard(index, 4).owns(cycle.signature("pod_memory", dict(key)))
            assert reading == readings[1][key]


def test_a_failed_query_goes_to_every_shard():
    threshold = Threshold(pk=7, key="api_p95_latency.all", scope={})
    failure = Reading(error="unreachable: connection refused")
    parts = cycle.partition([threshold], {7: {cycle.FAILURE: failure}}, 3)
    assert [cycle.unpartition(part)[7] for part in parts] == [{cycle.FAILURE: failure}] * 3


@pytest.mark.django_db
def test_a_sharded_cycle_stores_what_the_whole_cycle_does(loaded):
    now = time.time() - 5  # a moment Prometheus has scraped: both runs read the same samples
    whole = cycle.evaluate_cycle(now)
    expected, changes = stored(), StateChange.objects.count()
    Check.objects.all().delete()
    readings, _ = cycle.read(loaded, now)
    written = []
    for index in range(3):
        shard = cycle.Shard(index, 3)
        part = cycle.unpartition(cycle.partition(loaded, readings, 3)[index])
        checks, shard_changes = cycle.judge_and_store(loaded, part, now, shard=shard)
        assert checks and all(shard.owns(c.check_obj.signature) for c in shard_changes)
        written += shard_changes
    assert stored() == expected
    assert len(written) == changes == whole.changes
    assert sum(Counter(c.check_obj_id for c in written).values()) == len(
        {c.check_obj_id for c in written}
    )
    # every stored check knows its shard, so that a shard reads only its own
    assert all(c.bucket == cycle.bucket_of(c.signature) for c in Check.objects.all())


@pytest.mark.django_db
def test_a_failing_shard_leaves_the_others_and_the_join_working(
    loaded, settings, monkeypatch, caplog
):
    settings.EVALUATION_SHARD_SERIES = 5
    cycle.evaluate_cycle()  # the checks exist: the next cycle is split
    assert alert_tasks.shard_count(Check.objects.count()) > 2
    heartbeat = Heartbeat.objects.get(name=EVALUATION_HEARTBEAT).last_seen
    judge = cycle.judge_and_store

    def second_fails(thresholds, readings, now, *, shard, **kwargs):
        if shard.index == 1:
            raise RuntimeError("the database went away")
        return judge(thresholds, readings, now, shard=shard, **kwargs)

    monkeypatch.setattr(cycle, "judge_and_store", second_fails)
    app.conf.task_always_eager = True
    try:
        alert_tasks.evaluate_thresholds()
    finally:
        app.conf.task_always_eager = False
    slot = TaskSlot.objects.get(task=alert_tasks.EVALUATION_TASK)
    assert slot.finished_at is not None  # the join released the tick
    # the other shards wrote their checks in this cycle, the failed one's kept the last
    fresh = {c.evaluated_at for c in Check.objects.all()}
    assert len(fresh) == 2
    # no heartbeat while a shard fails: the self-monitoring sees it
    assert Heartbeat.objects.get(name=EVALUATION_HEARTBEAT).last_seen == heartbeat
    assert "1 of" in caplog.text and "the database went away" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_through_a_real_worker_the_shards_join_and_release_the_tick(loaded, settings, redis_server):
    settings.EVALUATION_SHARD_SERIES = 5
    cycle.evaluate_cycle()
    count = alert_tasks.shard_count(Check.objects.count())
    assert count > 2
    before = {c.signature: c.evaluated_at for c in Check.objects.all()}
    with (
        celery_broker(redis_server.url),
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        alert_tasks.evaluate_thresholds()
        alert_tasks.evaluate_thresholds()  # a second beat in the same tick: nothing more
        deadline = time.monotonic() + 60
        while not TaskSlot.objects.filter(
            task=alert_tasks.EVALUATION_TASK, finished_at__isnull=False
        ).exists():
            assert time.monotonic() < deadline, "the shards did not join within 60 s"
            time.sleep(0.05)
    after = {c.signature: c.evaluated_at for c in Check.objects.all()}
    assert after.keys() == before.keys()
    assert all(after[s] > before[s] for s in before), "a check no shard judged"
    assert len(set(after.values())) == 1  # one cycle, one moment
    # one history row per check at most for the cycle: no shard judged a check twice
    rows = Counter(
        StateChange.objects.filter(at=next(iter(after.values()))).values_list(
            "check_obj_id", flat=True
        )
    )
    assert all(n == 1 for n in rows.values())
