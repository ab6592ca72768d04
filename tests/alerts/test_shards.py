"""A cycle split into shard tasks (``alerts.tasks.start_cycle``): the shards judge disjoint
checks that together are every check, a sharded cycle stores what the whole cycle would, each
change is written (and handed to notifications) once, a failing shard does not stop the others
nor the join, and through a real broker and worker the join releases the tick, even when a
shard is lost to Celery (its process killed)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from celery.exceptions import ChordError
from django.core.management import call_command

from alerts import cycle
from alerts import tasks as alert_tasks
from alerts.evaluation import Reading
from alerts.models import Check, StateChange, Threshold
from alerts.signals import states_changed
from controlpanel.celery import app
from health import slots
from health.checks import EVALUATION_HEARTBEAT
from health.models import Heartbeat, TaskSlot
from metrics.models import Metric
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
    threshold = Threshold(pk=1, key="pod_memory", scope={}, metric=Metric(query="q"))
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
    threshold = Threshold(pk=7, key="api_p95_latency.all", scope={}, metric=Metric(query="q"))
    failure = Reading(error="unreachable: connection refused")
    parts = cycle.partition([threshold], {7: {cycle.FAILURE: failure}}, 3)
    assert [cycle.unpartition(part)[7] for part in parts] == [{cycle.FAILURE: failure}] * 3


FIELDS = ["state", "since", "value", "reason", "warning_since", "critical_since", "evaluated_at"]


def sharded(thresholds: list[Threshold], now: float, count: int) -> list[StateChange]:
    readings, _ = cycle.read(thresholds, now)
    written = []
    for index, part in enumerate(cycle.partition(thresholds, readings, count)):
        shard = cycle.Shard(index, count)
        _, changes = cycle.judge_and_store(thresholds, cycle.unpartition(part), now, shard=shard)
        assert all(shard.owns(c.check_obj.signature) for c in changes)
        written += changes
    return written


@pytest.mark.django_db
def test_a_sharded_cycle_stores_what_the_whole_cycle_does(loaded):
    # moments Prometheus has scraped: both ways read the same samples
    first, second = time.time() - 20, time.time() - 5
    whole = cycle.evaluate_cycle(first)
    # a series judged before that Prometheus no longer returns: no_data, by its own shard
    grouped = next(t for t in loaded if t.metric.group_by and not t.scope)
    labels = {label: "gone" for label in grouped.metric.group_by}
    Check.objects.create(
        threshold=grouped,
        labels=labels,
        signature=cycle.signature(grouped.key, labels),
        state="ok",
        value=1.0,
    )
    kept = {c.pk: {f: getattr(c, f) for f in FIELDS} for c in Check.objects.all()}
    cycle.evaluate_cycle(second)
    expected = stored()
    expected_changes = sorted(
        (c.check_obj.signature, c.from_state, c.to_state)
        for c in StateChange.objects.filter(at__gt=whole_at(first)).select_related("check_obj")
    )
    assert expected[cycle.signature(grouped.key, labels)][0] == "no_data"
    # back to before the second cycle, and the second cycle again, split three ways
    StateChange.objects.filter(at__gt=whole_at(first)).delete()
    Check.objects.exclude(pk__in=kept).delete()  # series that came with the second cycle
    checks = list(Check.objects.all())
    for check in checks:
        for name, value in kept[check.pk].items():
            setattr(check, name, value)
    Check.objects.bulk_update(checks, FIELDS)
    written = sharded(loaded, second, 3)
    assert stored() == expected
    assert (
        sorted((c.check_obj.signature, c.from_state, c.to_state) for c in written)
        == expected_changes
    )
    assert whole.changes and len(written) == len({c.check_obj_id for c in written})
    # every stored check knows its shard, so that a shard reads only its own
    assert all(c.bucket == cycle.bucket_of(c.signature) for c in Check.objects.all())


def whole_at(now: float):
    return datetime.fromtimestamp(now, tz=UTC)


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
    eagerly(alert_tasks.evaluate_thresholds)
    slot = TaskSlot.objects.get(task=alert_tasks.EVALUATION_TASK)
    assert slot.finished_at is not None  # the join released the tick
    # the other shards wrote their checks in this cycle, the failed one's kept the last
    fresh = {c.evaluated_at for c in Check.objects.all()}
    assert len(fresh) == 2
    # no heartbeat while a shard fails: the self-monitoring sees it
    assert Heartbeat.objects.get(name=EVALUATION_HEARTBEAT).last_seen == heartbeat
    assert "1 of" in caplog.text and "the database went away" in caplog.text


def eagerly(task) -> None:
    """Run ``task`` with its chord in this process (Celery's eager mode), as a worker would."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        task()
    finally:
        app.conf.task_always_eager = eager


@pytest.mark.django_db
def test_the_apps_above_hear_a_split_cycles_changes_once_for_the_whole_cycle(
    loaded, settings, monkeypatch
):
    """Incidents group one outage's breaches into one incident only when they hear them
    together: shards telling theirs at the same moment would each open an incident."""
    settings.EVALUATION_SHARD_SERIES = 5
    heard: list[list[int]] = []

    def listener(sender, changes=(), **kwargs):
        heard.append([c.pk for c in changes])

    states_changed.connect(listener)
    try:
        eagerly(alert_tasks.evaluate_thresholds)  # the first cycle: every check is new
    finally:
        states_changed.disconnect(listener)
    assert alert_tasks.shard_count(Check.objects.count()) > 2
    assert len(heard) == 1
    assert sorted(heard[0]) == sorted(StateChange.objects.values_list("pk", flat=True))


def a_claimed_part(thresholds: list[Threshold], count: int) -> tuple[float, slots.Claim, dict]:
    """After a first cycle: this tick claimed, read, and the first of ``count`` parts."""
    cycle.evaluate_cycle()
    now = time.time()
    claimed = slots.claim(alert_tasks.EVALUATION_TASK, 60)
    assert claimed is not None
    readings, _ = cycle.read(thresholds, now)
    return now, claimed, cycle.partition(thresholds, readings, count)[0]


@pytest.mark.django_db
def test_a_shard_whose_tick_is_over_writes_nothing(loaded):
    now, claimed, part = a_claimed_part(loaded, 2)
    slots.finish(claimed)  # released: after a failed dispatch, or the lease ended and passed on
    before = stored()
    result = alert_tasks.evaluate_shard(now, 0, 2, part, claimed.as_json())
    assert result["error"] == "its tick was over before it started"
    assert stored() == before


@pytest.mark.django_db
def test_a_late_join_records_no_heartbeat(loaded, settings):
    cycle.evaluate_cycle()
    heartbeat = Heartbeat.objects.get(name=EVALUATION_HEARTBEAT).last_seen
    claimed = slots.claim(alert_tasks.EVALUATION_TASK, settings.EVALUATION_INTERVAL)
    assert claimed is not None
    later = claimed.claimed_at + timedelta(seconds=slots.lease_seconds(60) + 1)
    assert slots.claim(alert_tasks.EVALUATION_TASK, settings.EVALUATION_INTERVAL, now=later)
    alert_tasks.join_cycle(
        [{"checks": 3, "changes": 0, "error": ""}],
        now=time.time(),
        claim=claimed.as_json(),
        started=time.time(),
        queries=1,
    )
    assert Heartbeat.objects.get(name=EVALUATION_HEARTBEAT).last_seen == heartbeat
    assert TaskSlot.objects.get(task=alert_tasks.EVALUATION_TASK).finished_at is None


@pytest.mark.django_db
def test_a_threshold_reshaped_after_the_readings_is_left_to_the_next_cycle(loaded):
    now, claimed, part = a_claimed_part(loaded, 1)
    latency = Threshold.objects.get(key="api_p95_latency.enterprise")
    latency.relative_to = "1w"  # an administrator's edit while the readings travel
    latency.save()
    before = {c.signature: c.evaluated_at for c in latency.checks.all()}
    alert_tasks.evaluate_shard(now, 0, 1, part, claimed.as_json())
    assert {c.signature: c.evaluated_at for c in latency.checks.all()} == before
    others = Check.objects.exclude(threshold=latency)
    assert all(c.evaluated_at.timestamp() == pytest.approx(now) for c in others)


@pytest.mark.django_db
def test_a_check_made_any_way_knows_its_bucket(loaded):
    threshold = loaded[0]
    made = Check.objects.create(
        threshold=threshold, labels={}, signature=f'{threshold.key}{{x="1"}}'
    )
    made.refresh_from_db()
    assert made.bucket == cycle.bucket_of(made.signature)


def wait_for_the_join(seconds: float = 60) -> None:
    """Until a claimed tick is released (a new slot row reads finished before any claim)."""
    deadline = time.monotonic() + seconds
    while not TaskSlot.objects.filter(
        task=alert_tasks.EVALUATION_TASK, slot__gte=0, finished_at__isnull=False
    ).exists():
        assert time.monotonic() < deadline, f"the cycle was not joined within {seconds:.0f} s"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_through_a_real_worker_the_shards_join_and_release_the_tick(loaded, settings, redis_server):
    settings.EVALUATION_SHARD_SERIES = 5
    cycle.evaluate_cycle()
    count = alert_tasks.shard_count(Check.objects.count())
    assert count > 2
    before = {c.signature: c.evaluated_at for c in Check.objects.all()}
    heartbeat = Heartbeat.objects.get(name=EVALUATION_HEARTBEAT).last_seen
    with (
        celery_broker(redis_server.url),
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        # what beat sends, twice: a second beat in the same tick adds nothing
        alert_tasks.evaluate_thresholds.delay()
        alert_tasks.evaluate_thresholds.delay()
        wait_for_the_join()
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
    assert Heartbeat.objects.get(name=EVALUATION_HEARTBEAT).last_seen > heartbeat


@pytest.mark.django_db(transaction=True)
def test_a_shard_celery_fails_still_joins_the_cycle_and_tells_every_change_once(
    loaded, settings, redis_server, monkeypatch
):
    """A shard whose process dies (the OOM killer, the hard time limit) cannot report it:
    Celery fails its part of the chord, and the join's error callback joins the cycle. Here
    the second shard's result cannot be encoded, which Celery fails the same way, after the
    shard stored its checks."""
    settings.EVALUATION_SHARD_SERIES = 5
    judge = cycle.judge_and_store

    def second_is_lost(thresholds, readings, now, *, shard, **kwargs):
        checks, changes = judge(thresholds, readings, now, shard=shard, **kwargs)
        return (object() if shard.index == 1 else checks), changes

    monkeypatch.setattr(cycle, "judge_and_store", second_is_lost)
    heard: list[list[int]] = []

    def listener(sender, changes=(), **kwargs):
        heard.append([c.pk for c in changes])

    states_changed.connect(listener)
    try:
        with (
            celery_broker(redis_server.url),
            start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
        ):
            alert_tasks.evaluate_thresholds.delay()  # the first cycle: every check is new
            wait_for_the_join()
    finally:
        states_changed.disconnect(listener)
    assert alert_tasks.shard_count(Check.objects.count()) > 2
    # every shard's changes, the lost one's too (it had stored them), told once
    assert len(heard) == 1
    assert sorted(heard[0]) == sorted(StateChange.objects.values_list("pk", flat=True))
    assert not Heartbeat.objects.filter(name=EVALUATION_HEARTBEAT).exists()


@pytest.mark.parametrize(
    ("failure", "joined"),
    [(ChordError("Dependency 1 raised WorkerLostError()"), True), (RuntimeError("join"), False)],
)
def test_the_error_callback_joins_a_cycle_that_lost_a_shard_but_not_a_failed_join(
    monkeypatch, failure, joined
):
    """It is the join's own error callback too: a join that failed itself is not run again
    (its changes would be told twice)."""
    queued: list[dict] = []
    monkeypatch.setattr(alert_tasks.join_lost_cycle, "delay", lambda **kw: queued.append(kw))
    cycle_of = {"now": 1.5, "claim": {}, "started": 1.0, "queries": 3}
    alert_tasks.shard_lost(None, failure, None, **cycle_of)
    assert queued == ([cycle_of] if joined else [])
