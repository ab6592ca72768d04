"""Periodic tasks of the alerts app."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

import celery
from celery import shared_task
from celery.exceptions import ChordError
from django.conf import settings
from django.db import transaction

from alerts import cycle, notify
from alerts.cycle import CycleResult, evaluate_cycle
from alerts.models import Check, StateChange, Threshold
from alerts.rules_export import RuleFileRejected, write_rule_file
from alerts.signals import states_changed
from health import checks as health
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
    beside a cycle that overran (``health.slots``). A cycle over many series is split into
    shard tasks that any worker may take (``start_cycle``); the last of them to finish joins
    the cycle (``join_cycle``), which releases the tick."""
    claimed = slots.claim(EVALUATION_TASK, settings.EVALUATION_INTERVAL)
    if claimed is None:
        logger.info(
            "%s: this tick is another host's (or the last cycle has not finished)", EVALUATION_TASK
        )
        return
    try:
        if start_cycle(claimed):
            return  # sharded: join_cycle releases the tick
    except BaseException:
        # Released for the next tick, unless a shard already took up the work (a chord sent
        # in part): that shard's run holds the tick until its lease ends.
        slots.finish(claimed, unless_renewed=True)
        raise
    slots.finish(claimed)


def start_cycle(claimed: slots.Claim) -> bool:
    """Query Prometheus once for the whole cycle; then judge every check here, or, over many
    series, split the readings by the checks' buckets and hand each part to a shard task
    that any worker may take, joined by a chord. True when shards were sent."""
    started = now = time.time()
    thresholds = list(Threshold.objects.select_related("metric", "alert"))
    readings, queries = cycle.read(thresholds, now)
    count = shard_count(max(Check.objects.count(), sum(len(r) for r in readings.values())))
    if count == 1:
        _, changes = cycle.judge_and_store(thresholds, readings, now, heartbeat=True)
        act_on(changes)
        return False
    parts = cycle.partition(thresholds, readings, count)
    del readings  # the parts hold it now, the shards' messages next
    claim = claimed.as_json()
    # No expiry on the shards' messages: an expired one would leave the chord without its
    # join. A shard that starts after its tick is over finds so when it renews, does nothing
    # and reports it, and the join still comes.
    header = [evaluate_shard.s(now, index, count, part, claim) for index, part in enumerate(parts)]
    send_chord(header, now=now, claim=claim, started=started, queries=queries)
    return True


def send_chord(header: list[celery.Signature], **cycle_of: object) -> None:
    """The shards, joined by ``join_cycle`` once the last has returned. A shard cannot report
    every failure itself: when its process is lost (the kernel's OOM killer, Celery's hard
    time limit) Celery fails the chord instead, and ``shard_lost`` has the cycle joined then,
    so the tick is released and the other shards' changes are told all the same."""
    join = join_cycle.s(**cycle_of).on_error(shard_lost.s(**cycle_of))
    celery.chord(header)(join)


def shard_count(series: int) -> int:
    """How many shard tasks a cycle over ``series`` series is split into: one per
    EVALUATION_SHARD_SERIES, at most EVALUATION_MAX_SHARDS (about the number of worker
    processes: more shards than workers only queue up, each with its own transaction)."""
    wanted = math.ceil(series / settings.EVALUATION_SHARD_SERIES)
    return max(1, min(settings.EVALUATION_MAX_SHARDS, wanted))


@shared_task(name="alerts.tasks.evaluate_shard", ignore_result=False)
def evaluate_shard(now: float, index: int, count: int, part: dict, claim: dict) -> dict:
    """One shard of a cycle: judge and store its checks from the readings it was handed and
    queue its changes' notifications (each change is in exactly one shard). It first renews
    the tick's lease for as long as a task may run: a shard whose tick is over (its lease
    ended and the next cycle may be judging the same checks, or the cycle was released after
    a failed dispatch) does nothing. It returns what it did, or its error, for ``join_cycle``:
    an error does not stop the other shards, nor the join."""
    try:
        if not slots.renew(slots.Claim.from_json(claim), settings.CELERY_TASK_TIME_LIMIT + 10):
            logger.warning(
                "shard %d of %d of the cycle at %s: its tick is over, skipped",
                index + 1,
                count,
                now,
            )
            return {"checks": 0, "changes": 0, "error": "its tick was over before it started"}
        readings = cycle.unpartition(part)
        thresholds = [
            t
            for t in Threshold.objects.select_related("metric", "alert").filter(pk__in=readings)
            # edited since the readings were taken (another query, scope or grouping): judged
            # by the next cycle, with readings of its own
            if cycle.shape_of(t) == cycle.shape_in(part, t.pk)
        ]
        checks, changes = cycle.judge_and_store(
            thresholds, readings, now, shard=cycle.Shard(index, count)
        )
    except Exception as exc:  # the join reports it; the next cycle tries again
        logger.exception("shard %d of %d of the cycle at %s failed", index + 1, count, now)
        return {"checks": 0, "changes": 0, "error": f"{type(exc).__name__}: {exc}"}
    done = {"checks": checks, "changes": len(changes), "error": ""}
    try:
        queue_notifications(changes)
    except Exception as exc:  # the changes are stored: the join still tells the apps above
        logger.exception("shard %d of %d: its changes' messages were not queued", index + 1, count)
        done["error"] = f"messages not queued: {type(exc).__name__}: {exc}"
    return done


@shared_task(name="alerts.tasks.join_cycle", ignore_result=True)
def join_cycle(
    results: list[dict], *, now: float, claim: dict, started: float, queries: int
) -> None:
    """After the last shard: the cycle's changes told to the apps above, once for the whole
    cycle as an unsplit cycle tells them (incidents group one outage's breaches into one
    incident: shards telling theirs at the same moment would each open one); then the tick
    released, and the evaluation heartbeat, only when every shard succeeded and the tick was
    still this cycle's (a shard that keeps failing, or cycles that overrun their lease, are
    for the self-monitoring to see)."""
    errors = [r["error"] for r in results if r["error"]]
    logger.info(
        "the cycle at %s: %d shards judged %d checks and wrote %d changes",
        now,
        len(results),
        sum(r["checks"] for r in results),
        # a shard of the last release (during a rolling deploy) returned its changes' ids
        sum(len(n) if isinstance(n, list) else n for n in (r["changes"] for r in results)),
    )
    if errors:
        logger.error(
            "the cycle at %s: %d of %d shards failed: %s", now, len(errors), len(results), errors
        )
    finish_cycle(now=now, claim=claim, started=started, queries=queries, failed=bool(errors))


@shared_task(name="alerts.tasks.shard_lost", ignore_result=True)
def shard_lost(
    request: object,
    exc: BaseException,
    traceback: object,
    *,
    now: float,
    claim: dict,
    started: float,
    queries: int,
) -> None:
    """The chord's error callback, after every shard has returned or been lost. Celery calls
    it in place, maybe in the worker's main process (where a lost process is noticed), so it
    only queues the join, ``join_lost_cycle``, for a pool process. It is also ``join_cycle``'s
    own error callback: a join that failed itself (not a ``ChordError``) is not run again."""
    if not isinstance(exc, ChordError):
        logger.error("the join of the cycle at %s failed: %s", now, exc)
        return
    logger.error("the cycle at %s lost a shard: %s", now, exc)
    join_lost_cycle.delay(now=now, claim=claim, started=started, queries=queries)


@shared_task(name="alerts.tasks.join_lost_cycle", ignore_result=True)
def join_lost_cycle(*, now: float, claim: dict, started: float, queries: int) -> None:
    """The join of a cycle that lost a shard, with no heartbeat (the self-monitoring sees a
    cycle that lost one). The lost shard's checks keep their last states, or the ones it
    stored before it was lost, until the next cycle judges them."""
    finish_cycle(now=now, claim=claim, started=started, queries=queries, failed=True)


def finish_cycle(*, now: float, claim: dict, started: float, queries: int, failed: bool) -> None:
    """The cycle's changes, every shard's, found by its stamp and told to the apps above once
    for the whole cycle; the tick released; the heartbeat recorded when no shard failed and
    the tick was still this cycle's."""
    changes = list(cycle.changes_at(now))
    tell(changes)
    held = slots.finish(slots.Claim.from_json(claim))
    if not held:
        logger.error("the cycle at %s outlived its tick's lease: another cycle has the task", now)
    elif not failed:
        health.record_heartbeat(health.EVALUATION_HEARTBEAT)
    logger.info(
        "cycle at %s: %d changes, %d queries, %.2f s",
        now,
        len(changes),
        queries,
        time.time() - started,
    )


def run_cycle() -> CycleResult:
    """One evaluation cycle, then the messages its changes deserve, queued for a worker, and
    the changes told to the apps above (``alerts.signals.states_changed``: incidents)."""
    result = evaluate_cycle()
    act_on(result.state_changes)
    return result


def act_on(changes: list[StateChange]) -> None:
    queue_notifications(changes)
    tell(changes)


def tell(changes: list[StateChange]) -> None:
    """The cycle's changes to the apps above (``alerts.signals.states_changed``)."""
    for receiver, outcome in states_changed.send_robust(sender=CycleResult, changes=changes):
        if isinstance(outcome, Exception):
            logger.error("%s failed on the cycle's changes", receiver, exc_info=outcome)


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
