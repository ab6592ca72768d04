"""What ``/health``, ``/metrics`` and the page banner say about the panel itself."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.utils import timezone
from redis.exceptions import RedisError

from controlpanel.models import Heartbeat
from controlpanel.observability import BEAT_HEARTBEAT_AGE, EVALUATION_LAG, PROMETHEUS_UP
from metrics import prometheus

log = logging.getLogger(__name__)

BEAT_HEARTBEAT = "celery-beat"
# Written at the end of every evaluation cycle: its age is the evaluation lag.
EVALUATION_HEARTBEAT = "evaluation"
_PROMETHEUS_CACHE_KEY = "health:prometheus"
_PROMETHEUS_CACHE_SECONDS = 5


@dataclass(frozen=True)
class DatabaseCheck:
    is_ok: bool
    vendor: str
    round_trip_ms: float | None
    error: str | None


@dataclass(frozen=True)
class BeatCheck:
    is_ok: bool
    last_heartbeat: str | None
    age_seconds: float | None
    interval_seconds: int
    reason: str | None


def check_database() -> DatabaseCheck:
    """One ``SELECT 1`` round trip, timed; a failure is reported, never raised."""
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return DatabaseCheck(False, connection.vendor, None, reason[:300])
    elapsed = (time.perf_counter() - started) * 1000
    return DatabaseCheck(True, connection.vendor, round(elapsed, 3), None)


def check_beat() -> BeatCheck:
    interval = settings.HEARTBEAT_INTERVAL
    try:
        beat = Heartbeat.objects.filter(name=BEAT_HEARTBEAT).first()
    except DatabaseError as exc:
        return BeatCheck(False, None, None, interval, f"database error: {exc}"[:300])
    if beat is None:
        BEAT_HEARTBEAT_AGE.set(float("nan"))
        return BeatCheck(False, None, None, interval, "no heartbeat recorded yet")
    age = beat.age().total_seconds()
    BEAT_HEARTBEAT_AGE.set(age)
    is_ok = beat.is_fresh(interval)
    reason = None if is_ok else f"last heartbeat {age:.0f}s ago (expected every {interval}s)"
    return BeatCheck(is_ok, beat.last_seen.isoformat(), round(age, 1), interval, reason)


@dataclass(frozen=True)
class EvaluationCheck:
    is_ok: bool
    last_cycle: str | None
    lag_seconds: float | None
    interval_seconds: int
    reason: str | None


def check_evaluation() -> EvaluationCheck:
    """How long ago the last evaluation cycle finished; late after three intervals."""
    interval = settings.EVALUATION_INTERVAL
    try:
        cycle = Heartbeat.objects.filter(name=EVALUATION_HEARTBEAT).first()
    except DatabaseError as exc:
        return EvaluationCheck(False, None, None, interval, f"database error: {exc}"[:300])
    if cycle is None:
        EVALUATION_LAG.set(float("nan"))
        return EvaluationCheck(False, None, None, interval, "no evaluation cycle has run yet")
    lag = cycle.age().total_seconds()
    EVALUATION_LAG.set(lag)
    is_ok = cycle.is_fresh(interval)
    reason = None if is_ok else f"last evaluation {lag:.0f}s ago (expected every {interval}s)"
    return EvaluationCheck(is_ok, cycle.last_seen.isoformat(), round(lag, 1), interval, reason)


def check_prometheus() -> prometheus.Reachability:
    """Cached for a few seconds so that a burst of health probes is one query. A cache that is
    down only costs the caching: the health answer must not fail with it."""
    key = f"{_PROMETHEUS_CACHE_KEY}:{settings.PROMETHEUS_URL}"
    try:
        cached = cache.get(key)
    except (RedisError, OSError):
        log.warning("cache unavailable; probing Prometheus without it", exc_info=True)
        cached = None
    if cached is not None:
        return prometheus.Reachability(**cached)
    result = prometheus.check_reachable()
    PROMETHEUS_UP.set(1 if result.is_reachable else 0)
    try:
        cache.set(key, asdict(result), _PROMETHEUS_CACHE_SECONDS)
    except (RedisError, OSError):
        log.warning("cache unavailable; Prometheus probe not cached", exc_info=True)
    return result


def record_heartbeat(name: str = BEAT_HEARTBEAT) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"last_seen": timezone.now()})


def problems() -> list[str]:
    """Sentences for the banner on every page; empty when all is well."""
    found = []
    beat = check_beat()
    if not beat.is_ok:
        found.append(f"Celery beat/worker: {beat.reason}.")
    prom = check_prometheus()
    if not prom.is_reachable:
        found.append(f"Prometheus at {prom.url} is not answering ({prom.error}).")
    evaluation = check_evaluation()
    if not evaluation.is_ok:
        found.append(f"Threshold evaluation: {evaluation.reason}; states may be stale.")
    return found
