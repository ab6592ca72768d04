"""What ``/health``, ``/metrics`` and the page banner say about the panel itself."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from prometheus_client import Gauge

from core import caching
from health.models import Heartbeat
from health.observability import BEAT_HEARTBEAT_AGE, EVALUATION_LAG, PROMETHEUS_UP
from integrations import prometheus

log = logging.getLogger(__name__)

BEAT_HEARTBEAT = "celery-beat"
# Written at the end of every evaluation cycle: its age is the evaluation lag.
EVALUATION_HEARTBEAT = "evaluation"
_PROMETHEUS_CACHE_KEY = "health:prometheus"
# Seconds a page waits for another page's probe before probing itself.
PROBE_WAIT = 1.0


@dataclass(frozen=True)
class DatabaseCheck:
    is_ok: bool
    vendor: str
    round_trip_ms: float | None
    error: str | None


@dataclass(frozen=True)
class HeartbeatCheck:
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


def _check_heartbeat(
    name: str, interval: int, gauge: Gauge, never: str, what: str
) -> HeartbeatCheck:
    """A heartbeat row's age against its interval: fresh for three intervals."""
    try:
        beat = Heartbeat.objects.filter(name=name).first()
    except DatabaseError as exc:
        return HeartbeatCheck(False, None, None, interval, f"database error: {exc}"[:300])
    if beat is None:
        gauge.set(float("nan"))
        return HeartbeatCheck(False, None, None, interval, never)
    age = beat.age().total_seconds()
    gauge.set(age)
    is_ok = beat.is_fresh(interval)
    reason = None if is_ok else f"last {what} {age:.0f}s ago (expected every {interval}s)"
    return HeartbeatCheck(is_ok, beat.last_seen.isoformat(), round(age, 1), interval, reason)


def check_beat() -> HeartbeatCheck:
    """Beat schedules the heartbeat and a worker records it: both are alive."""
    return _check_heartbeat(
        BEAT_HEARTBEAT,
        settings.HEARTBEAT_INTERVAL,
        BEAT_HEARTBEAT_AGE,
        "no heartbeat recorded yet",
        "heartbeat",
    )


def check_evaluation() -> HeartbeatCheck:
    """How long ago the last evaluation cycle finished (the evaluation lag)."""
    return _check_heartbeat(
        EVALUATION_HEARTBEAT,
        settings.EVALUATION_INTERVAL,
        EVALUATION_LAG,
        "no evaluation cycle has run yet",
        "evaluation",
    )


def _cached_prometheus() -> prometheus.Reachability | None:
    """The last probe's answer if it is still fresh. A cache that is down only costs the
    caching: the health answer must not fail with it."""
    cached = caching.get(_probe_key())
    return None if cached is None else prometheus.Reachability(**cached)


def _probe_key() -> str:
    """The probe's answer is shared for one live-refresh interval, by clock: however many
    pages are open, Prometheus is probed at most once an interval (as with one viewer)."""
    bucket = int(time.time() // settings.LIVE_REFRESH_SECONDS)
    return f"{_PROMETHEUS_CACHE_KEY}:{settings.PROMETHEUS_URL}:{bucket}"


def check_prometheus() -> prometheus.Reachability:
    """Cached for a few seconds so that a burst of health probes is one query."""
    cached = _cached_prometheus()
    return cached if cached is not None else _probe_prometheus()


def _probe_prometheus() -> prometheus.Reachability:
    key = _probe_key()
    # One probe an interval, also when many pages ask at the turn of it: the others wait a
    # moment for its answer (caching.claim) instead of each probing.
    if not caching.claim(f"{key}:claim", settings.LIVE_REFRESH_SECONDS):
        answer = caching.wait_for(key, prometheus.time_left(PROBE_WAIT))
        if answer is not None:
            return prometheus.Reachability(**answer)
    result = prometheus.check_reachable()
    if not result.is_reachable and (result.error or "").endswith(prometheus.BUDGET_SPENT):
        return result  # not a probe: the page ran out of time before it could ask
    PROMETHEUS_UP.set(1 if result.is_reachable else 0)
    caching.put(key, asdict(result), settings.LIVE_REFRESH_SECONDS)
    return result


def record_heartbeat(name: str = BEAT_HEARTBEAT) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"last_seen": timezone.now()})


def problems() -> list[str]:
    """Sentences for the banner on every page; empty when all is well."""
    found = []
    # A fresh answer comes from the cache; otherwise the probe's round trip runs on a query
    # thread while the two heartbeats are read from the database.
    cached = _cached_prometheus()
    probe = prometheus.started([_probe_prometheus] if cached is None else [])
    beat = check_beat()
    evaluation = check_evaluation()
    prom = cached or probe()[0]
    if not beat.is_ok:
        found.append(f"Celery beat/worker: {beat.reason}.")
    if not prom.is_reachable:
        found.append(f"Prometheus at {prom.url} is not answering ({prom.error}).")
    else:
        for base, reason in prom.down:  # an HA replica down: the others answer meanwhile
            found.append(
                f"Prometheus replica {base} is not answering ({reason}); "
                "queries go to the other replicas."
            )
    if not evaluation.is_ok:
        found.append(f"Threshold evaluation: {evaluation.reason}; states may be stale.")
    return found
