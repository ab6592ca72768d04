"""The one module that talks to Prometheus (or any Prometheus-compatible query API).

Everything else asks this module; tests run it against real Prometheus processes and patch
only here when a failure must be forced.

``PROMETHEUS_URL`` may name several replicas, comma-separated (an HA pair scraping the same
targets). A query goes to one that answers: a replica that fails (unreachable, timing out,
answering 5xx) is logged with the reason, skipped, and tried last for ``SKIP_SECONDS``; a
query is an error only when none answers. A refused query (bad PromQL) is the query's fault,
the same on every replica, and is not retried. One URL in front of a Thanos or Mimir query
frontend or VictoriaMetrics works unchanged: it is a single replica.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core import caching, failover
from core.network import connection_failure

T = TypeVar("T")
log = logging.getLogger(__name__)

# Which replicas failed lately (core.failover): a query asks the others first.
asking_order = failover.AskingOrder()


def replicas(url: str | None = None) -> list[str]:
    """The query endpoints: ``url``, else ``PROMETHEUS_URL``, split at commas."""
    return failover.split(url or settings.PROMETHEUS_URL)


@dataclass(frozen=True)
class Reachability:
    """Whether the query API answered a trivial query, how fast, and why not if it did not."""

    is_reachable: bool
    latency_ms: float | None
    error: str | None
    url: str  # the replicas, comma-separated
    # replicas that did not answer, with why, while another did (or none did)
    down: list[tuple[str, str]] | tuple[tuple[str, str], ...] = ()


def check_reachable(url: str | None = None, timeout: float | None = None) -> Reachability:
    """Run ``vector(1)`` on every replica: it works on every Prometheus-compatible API
    (VictoriaMetrics has no ``/-/ready``) and proves the query path, not just the listener.
    Reachable when one answers; ``down`` names the others, with why."""
    bases = replicas(url)
    if not bases:
        return Reachability(False, None, "no Prometheus URL is set", "")
    # A replica found down in the last SKIP_SECONDS is reported with why, not asked again
    # (one that hangs would cost every page its timeout); the others are asked at once.
    known_down = dict(asking_order.down(bases))
    to_probe = [base for base in bases if base not in known_down] or bases
    probes: list[Callable[[], QueryResult]] = [
        partial(instant_query, "vector(1)", url=base, timeout=timeout) for base in to_probe
    ]
    answers = list(
        zip(to_probe, parallel(probes) if len(probes) > 1 else [probes[0]()], strict=True)
    )
    for base, result in answers:
        if result.is_ok:
            asking_order.answered(base)
            known_down.pop(base, None)
        elif result.reason != BUDGET_SPENT:
            asking_order.failed(base, f"{result.failure}: {result.reason}")
    up = [(base, r) for base, r in answers if r.is_ok]
    down = [(base, f"{r.failure}: {r.reason}") for base, r in answers if not r.is_ok]
    down += [(base, why) for base, why in known_down.items() if base not in to_probe]
    down.sort(key=lambda item: bases.index(item[0]))
    shown = ", ".join(bases)
    if not up:
        error = (
            "; ".join(reason for _, reason in down)
            if len(down) == 1
            else "; ".join(f"{base}: {reason}" for base, reason in down)
        )
        latency = max(r.seconds for _, r in answers) * 1000 if answers else None
        return Reachability(False, latency, error, shown, down)
    return Reachability(True, min(r.seconds for _, r in up) * 1000, None, shown, down)


# --- queries -------------------------------------------------------------------------------


class QueryFailure:
    """Kinds of failure, kept apart because each means something else to the person on call."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    REJECTED = "rejected"  # Prometheus answered and refused the query (a bad expression)
    BAD_ANSWER = "bad_answer"


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class QueryResult:
    """An instant query's answer: samples, or the kind and reason of its failure."""

    query: str
    samples: tuple[Sample, ...] = ()
    failure: str = ""
    reason: str = ""
    seconds: float = 0.0

    @property
    def is_ok(self) -> bool:
        return not self.failure


_local = threading.local()

# The time by which every Prometheus call of the current request must be done (a monotonic
# clock reading), or None for no budget. A context variable, carried to the query threads
# by ``started``, so a page's charts and its banner probe share one budget.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "prometheus_deadline", default=None
)
BUDGET_SPENT = "the page's time budget for Prometheus was spent"


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every Prometheus call made inside, here and on the query threads it starts, ends within
    ``seconds`` from now in all: a hanging Prometheus costs a page its budget, not a timeout
    per call, one after the other."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left(wanted: float) -> float:
    """``wanted`` seconds, or what is left of the page's budget if that is less: a page waiting
    for another's answer (a chart being built elsewhere) waits inside its budget too."""
    end = _deadline.get()
    return wanted if end is None else max(0.0, min(wanted, end - time.monotonic()))


def _within_budget(timeout: float) -> float | None:
    """A call's timeout cut to what the budget has left; None when nothing is left."""
    end = _deadline.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    return None if left < 0.01 else min(timeout, left)


def instant_query(
    query: str, *, at: float | None = None, url: str | None = None, timeout: float | None = None
) -> QueryResult:
    """Run one instant query (at ``at``, a Unix time, or now) and classify what went wrong."""
    timeout = timeout or settings.PROMETHEUS_TIMEOUT
    params = {"query": query}
    if at is not None:
        params["time"] = f"{at:.3f}"
    started = time.perf_counter()

    def failed(kind: str, reason: str) -> QueryResult:
        return QueryResult(
            query, failure=kind, reason=reason, seconds=time.perf_counter() - started
        )

    answer = _api_get("/api/v1/query", params, url=url, timeout=timeout)
    if not answer.is_ok:
        return failed(answer.failure, answer.reason)
    data = answer.data if isinstance(answer.data, dict) else {}
    result = data.get("result", [])
    if data.get("resultType") == "scalar" or (
        isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict)
    ):
        result = [{"metric": {}, "value": result}]  # a scalar answer: [time, "value"]
    samples = []
    for item in result if isinstance(result, list) else []:
        try:
            samples.append(Sample(dict(item.get("metric", {})), float(item["value"][1])))
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            return failed(QueryFailure.BAD_ANSWER, f"unexpected sample {item!r:.200}")
    return QueryResult(query, tuple(samples), seconds=time.perf_counter() - started)


Job = tuple[str, float | None]  # (query, evaluation time or None for now)


def instant_queries(
    jobs: list[Job], *, url: str | None = None, timeout: float | None = None
) -> dict[Job, QueryResult]:
    """Run distinct (query, time) jobs in parallel, so that a cycle costs about its slowest
    query rather than their sum."""
    distinct = list(dict.fromkeys(jobs))
    results = parallel(
        [partial(instant_query, query, at=at, url=url, timeout=timeout) for query, at in distinct]
    )
    return dict(zip(distinct, results, strict=True))


_pools: dict[int, ThreadPoolExecutor] = {}
POOL_THREADS = 16


_on_query_thread = threading.local()


def _mark_query_thread() -> None:
    _on_query_thread.value = True


def _pool() -> ThreadPoolExecutor:
    """The process's query threads, kept between requests: starting threads for every page
    cost more than the queries' own parsing when the answers arrive together. Keyed by process
    so that a forked Celery child makes its own."""
    pid = os.getpid()
    pool = _pools.get(pid)
    if pool is None:
        pool = _pools[pid] = ThreadPoolExecutor(
            POOL_THREADS, thread_name_prefix="prometheus", initializer=_mark_query_thread
        )
    return pool


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class RangeResult:
    query: str
    series: tuple[Series, ...] = ()
    failure: str = ""
    reason: str = ""

    @property
    def is_ok(self) -> bool:
        return not self.failure


RANGE_CACHE_SECONDS = 30


def range_query(
    query: str,
    start: float,
    end: float,
    step: float,
    *,
    url: str | None = None,
    timeout: float | None = None,
    cache_seconds: int = RANGE_CACHE_SECONDS,
) -> RangeResult:
    """A range query for a chart, cached briefly in the shared cache: every viewer of a
    dashboard in the same half-minute costs Prometheus one query. Start and end are aligned to
    the step so that the cache key is shared."""
    base = (url or settings.PROMETHEUS_URL).rstrip("/")
    start, end = step * (start // step), step * (end // step)
    key = "range:" + hashlib.sha256(f"{base}|{query}|{start}|{end}|{step}".encode()).hexdigest()
    cached = caching.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    params = {"query": query, "start": str(start), "end": str(end), "step": str(step)}
    answer = _api_get("/api/v1/query_range", params, url=base, timeout=timeout)
    if not answer.is_ok:
        return RangeResult(query, failure=answer.failure, reason=answer.reason)
    data = answer.data if isinstance(answer.data, dict) else {}
    series = []
    for item in data.get("result", []):
        points = []
        for stamp, value in item.get("values", []):
            number = float(value)
            if math.isfinite(number):  # a ratio over no traffic is a gap, not a point
                points.append((float(stamp), number))
        series.append(Series(dict(item.get("metric", {})), tuple(points)))
    result = RangeResult(query, tuple(series))
    caching.put(key, result, cache_seconds)
    return result


def started(calls: list[Callable[[], T]]) -> Callable[[], list[T]]:
    """Start calls that wait on Prometheus on the process's query threads, now; the function
    returned waits for their results, in order. The caller does its own work in between.

    Called from one of those threads, the calls run there at once, one after the other:
    queueing them behind the caller could wait forever once every thread is a caller waiting
    for its own."""
    if getattr(_on_query_thread, "value", False):
        results = [call() for call in calls]
        return lambda: results
    # Each call runs in a copy of the caller's context: it keeps the caller's deadline.
    futures = [_pool().submit(contextvars.copy_context().run, call) for call in calls]
    return lambda: [future.result() for future in futures]


def parallel(calls: list[Callable[[], T]]) -> list[T]:
    """Run calls that wait on Prometheus on the query threads; results in order."""
    return started(calls)()


# Prometheus refuses a range query of more than 11,000 points per series.
MAX_POINTS = 11_000


def _pieces(start: float, end: float, step: float, max_points: int) -> list[tuple[float, float]]:
    """[start, end] on the step grid, cut into ranges of at most ``max_points`` steps."""
    start, end = step * (start // step), step * (end // step)
    span = step * (max_points - 1)
    pieces = []
    begin = start
    while begin <= end:
        finish = min(begin + span, end)
        pieces.append((begin, finish))
        begin = finish + step
    return pieces


def _joined(query: str, results: list[RangeResult]) -> RangeResult:
    """The pieces of one range joined back per series; the first failed piece is the result."""
    failed = next((r for r in results if not r.is_ok), None)
    if failed is not None:
        return failed
    joined: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for result in results:
        for series in result.series:
            joined.setdefault(tuple(sorted(series.labels.items())), []).extend(series.points)
    return RangeResult(
        query, tuple(Series(dict(labels), tuple(points)) for labels, points in joined.items())
    )


def range_queries_chunked(
    jobs: list[tuple[str, float, float, float]],
    *,
    max_points: int = MAX_POINTS,
    timeout: float | None = None,
    cache_seconds: int = RANGE_CACHE_SECONDS,
) -> list[RangeResult]:
    """Long range queries, each ``(query, start, end, step)``, split into pieces under
    Prometheus's points limit; every piece of every query runs in parallel (one level of
    threads), and each query's pieces are joined back per series. Results in order."""
    plans = [
        (query, step, _pieces(start, end, step, max_points)) for query, start, end, step in jobs
    ]
    fetch = partial(range_query, timeout=timeout, cache_seconds=cache_seconds)
    answers = iter(
        parallel(
            [partial(fetch, query, a, b, step) for query, step, pieces in plans for a, b in pieces]
        )
    )
    return [_joined(query, [next(answers) for _ in pieces]) for query, _, pieces in plans]


# States of an alerting rule and of its alerts in the rules API.
RULE_FIRING = "firing"


@dataclass(frozen=True)
class RuleState:
    """One alerting rule as Prometheus runs it: its health and the alerts it holds now."""

    group: str
    name: str
    labels: dict[str, str]
    health: str
    last_error: str
    last_evaluation: str
    state: str  # inactive, pending or firing
    alerts: tuple[dict, ...]


@dataclass(frozen=True)
class RulesResult:
    rules: tuple[RuleState, ...] = ()
    failure: str = ""
    reason: str = ""

    @property
    def is_ok(self) -> bool:
        return not self.failure


def alerting_rules(*, url: str | None = None, timeout: float | None = None) -> RulesResult:
    """The alerting rules Prometheus has loaded (``/api/v1/rules?type=alert``), with each
    rule's health, last error and active alerts."""
    answer = _api_get("/api/v1/rules", {"type": "alert"}, url=url, timeout=timeout)
    if not answer.is_ok:
        return RulesResult(failure=answer.failure, reason=answer.reason)
    groups = answer.data.get("groups", []) if isinstance(answer.data, dict) else []
    rules = []
    for group in groups:
        for rule in group.get("rules", []):
            rules.append(
                RuleState(
                    group=group.get("name", ""),
                    name=rule.get("name", ""),
                    labels=dict(rule.get("labels") or {}),
                    health=rule.get("health", "unknown"),
                    last_error=rule.get("lastError", ""),
                    last_evaluation=rule.get("lastEvaluation", ""),
                    state=rule.get("state", "inactive"),
                    alerts=tuple(rule.get("alerts") or ()),
                )
            )
    return RulesResult(tuple(rules))


# --- status APIs (targets, TSDB) -----------------------------------------------------------


@dataclass(frozen=True)
class ApiResult:
    """The ``data`` of a Prometheus HTTP API answer, or the kind and reason of its failure."""

    data: dict | list | None = None
    failure: str = ""
    reason: str = ""

    @property
    def is_ok(self) -> bool:
        return not self.failure


def _session() -> requests.Session:
    """One session per thread (a requests Session is not shared across threads), keeping its
    connections, and no retries: a panel that waits for retries is late exactly when it
    matters. read=False: a read timeout surfaces as itself, not as "retries exhausted"."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        adapter = HTTPAdapter(max_retries=Retry(total=0, read=False, redirect=0))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session  # type: ignore[no-any-return]


def _request(
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    *,
    url: str | None = None,
    timeout: float | None = None,
) -> requests.Response | ApiResult:
    """The one path to Prometheus's HTTP API: the response, or the failure when there is none
    (timeout, unreachable)."""
    base = (url or settings.PROMETHEUS_URL).rstrip("/")
    budgeted = _within_budget(timeout or max(settings.PROMETHEUS_TIMEOUT, 5.0))
    if budgeted is None:
        return ApiResult(failure=QueryFailure.TIMEOUT, reason=BUDGET_SPENT)
    timeout = budgeted
    try:
        return _session().request(
            method,
            f"{base}{path}",
            data=params if method == "POST" else None,
            params=params if method == "GET" else None,
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.Timeout:
        return ApiResult(failure=QueryFailure.TIMEOUT, reason=f"no answer within {timeout:g}s")
    except requests.RequestException as exc:
        return ApiResult(failure=QueryFailure.UNREACHABLE, reason=connection_failure(exc))


def _api_get(
    path: str,
    params: dict[str, str] | None = None,
    *,
    url: str | None = None,
    timeout: float | None = None,
) -> ApiResult:
    """An ``/api/v1`` call to a replica that answers (module docstring), classified from the
    answer's envelope: ``status``, ``errorType`` and ``error`` (bad_data and the like are the
    query's fault: rejected). With every replica failing, the first failure's kind with
    each replica's reason."""
    bases = replicas(url)
    if not bases:
        return ApiResult(failure=QueryFailure.UNREACHABLE, reason="no Prometheus URL is set")
    if len(bases) == 1:
        return _api_get_from(bases[0], path, params, timeout)
    failures: list[tuple[str, ApiResult]] = []
    ordered = asking_order.order(bases)
    for index, base in enumerate(ordered):
        # each replica gets its share of what the page has left, so one that hangs leaves
        # time for the next (the last one gets all that remains)
        share = _share(timeout, len(ordered) - index)
        answer = _api_get_from(base, path, params, share)
        if answer.is_ok or answer.failure == QueryFailure.REJECTED:
            asking_order.answered(base)
            return answer
        if answer.reason == BUDGET_SPENT:
            return answer  # the page's time is up: not this replica's fault
        asking_order.failed(base, answer.reason)
        log.warning("Prometheus replica %s skipped for %s: %s", base, path, answer.reason)
        failures.append((base, answer))
    reasons = "; ".join(f"{base}: {answer.reason}" for base, answer in failures)
    return ApiResult(failure=failures[0][1].failure, reason=f"no replica answered ({reasons})")


def _share(timeout: float | None, replicas_left: int) -> float | None:
    """A call's timeout when ``replicas_left`` replicas may still have to be asked: its own
    timeout, or an equal share of the page's budget if that is less."""
    wanted = timeout or max(settings.PROMETHEUS_TIMEOUT, 5.0)
    end = _deadline.get()
    if end is None or replicas_left <= 1:
        return wanted
    left = end - time.monotonic()
    return max(0.05, min(wanted, left / replicas_left))


def _api_get_from(
    base: str, path: str, params: dict[str, str] | None, timeout: float | None
) -> ApiResult:
    response = _request("GET", path, params, url=base, timeout=timeout)
    if isinstance(response, ApiResult):
        return response
    try:
        body = response.json()
    except ValueError:
        return ApiResult(
            failure=QueryFailure.BAD_ANSWER,
            reason=f"HTTP {response.status_code}: the answer is not JSON",
        )
    if not isinstance(body, dict):
        return ApiResult(failure=QueryFailure.BAD_ANSWER, reason="the answer is not an object")
    if body.get("status") == "success" and response.status_code == 200:
        return ApiResult(body.get("data"))
    if body.get("errorType") == "timeout":
        return ApiResult(failure=QueryFailure.TIMEOUT, reason=str(body.get("error", ""))[:300])
    if "error" in body or 400 <= response.status_code < 500:
        reason = str(body.get("error", f"HTTP {response.status_code}"))[:300]
        return ApiResult(failure=QueryFailure.REJECTED, reason=reason)
    return ApiResult(failure=QueryFailure.BAD_ANSWER, reason=f"HTTP {response.status_code}")


def reload_configuration(*, url: str | None = None) -> str:
    """Ask Prometheus to reload its configuration and rules (``--web.enable-lifecycle``);
    returns what happened, in words. Every replica reloads (each reads its own rule file)."""
    bases = replicas(url)
    outcomes = [_reload(base) for base in bases]
    if len(bases) == 1:
        return outcomes[0]
    return "; ".join(f"{base}: {outcome}" for base, outcome in zip(bases, outcomes, strict=True))


def _reload(base: str) -> str:
    response = _request("POST", "/-/reload", url=base, timeout=10)
    if isinstance(response, ApiResult):
        return f"reload failed: {response.failure}: {response.reason}"[:300]
    if response.status_code != 200:
        return f"reload failed: HTTP {response.status_code}: {response.text.strip()[:200]}"
    return "reloaded"


@dataclass(frozen=True)
class Target:
    job: str
    instance: str
    health: str  # up, down or unknown
    last_scrape: str  # RFC 3339
    last_scrape_age: float | None  # seconds
    last_error: str


def targets(
    *, url: str | None = None, timeout: float | None = None
) -> tuple[tuple[Target, ...], ApiResult]:
    """The active scrape targets (``/api/v1/targets?state=active``) with their health and how
    long ago each was last scraped."""
    from datetime import datetime

    result = _api_get("/api/v1/targets", {"state": "active"}, url=url, timeout=timeout)
    if not result.is_ok or not isinstance(result.data, dict):
        return (), result
    now = time.time()
    found = []
    for item in result.data.get("activeTargets", []):
        stamp = str(item.get("lastScrape", ""))
        age = None
        try:
            scraped = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            if scraped.year > 1970:
                age = max(0.0, now - scraped.timestamp())
        except ValueError:
            pass
        labels = item.get("labels") or {}
        found.append(
            Target(
                job=str(labels.get("job") or item.get("scrapePool", "")),
                instance=str(labels.get("instance", item.get("scrapeUrl", ""))),
                health=str(item.get("health", "unknown")),
                last_scrape=stamp,
                last_scrape_age=age,
                last_error=str(item.get("lastError", ""))[:300],
            )
        )
    return tuple(found), result


def tsdb_status(*, url: str | None = None, timeout: float | None = None) -> ApiResult:
    """Prometheus's TSDB status (``/api/v1/status/tsdb``): head series and chunks, and the
    metrics with the most series."""
    return _api_get("/api/v1/status/tsdb", url=url, timeout=timeout)


def runtime_info(*, url: str | None = None, timeout: float | None = None) -> ApiResult:
    """``/api/v1/status/runtimeinfo``: storage retention, start time, reload status."""
    return _api_get("/api/v1/status/runtimeinfo", url=url, timeout=timeout)
