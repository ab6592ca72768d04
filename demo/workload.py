"""The simulated LeanVibe workload: ``/metrics`` for Prometheus, ``/scenarios`` to start and end
incidents, real GET/SET traffic against a cache database in the stack's Redis, and the demo
cluster beside it in the same process (they share its state).

Counters are integrated every second from the model's rates and saved to a state file, which the
backfill wrote first: the history and the live series join without a jump, and a restart
continues where the last run stopped.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis

from demo.kube import Cluster
from demo.model import (
    METRIC_TYPES,
    NAMESPACE,
    ClusterSize,
    Counters,
    Key,
    Sample,
    Simulation,
    cluster_size,
    family_of,
)
from demo.scenarios import KINDS, ScenarioBook, ScenarioError
from demo.web import BodyError, QuietJsonHandler, read_body

log = logging.getLogger("demo.workload")

TICK_SECONDS = 1.0
SAVE_EVERY_SECONDS = 15.0
HOT_KEYS = 2000
VALUE = b"x" * 2048


# --- state file ------------------------------------------------------------------------------


def key_to_text(key: Key) -> str:
    name, labels = key
    return name + json.dumps(dict(labels), sort_keys=True, separators=(",", ":"))


def text_to_key(text: str) -> Key:
    brace = text.index("{")
    return text[:brace], tuple(sorted(json.loads(text[brace:]).items()))


def load_state(path: Path) -> tuple[float | None, dict[Key, float]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None, {}
    return float(data["time"]), {text_to_key(k): float(v) for k, v in data["counters"].items()}


def save_state(path: Path, t: float, counters: dict[Key, float]) -> None:
    """Atomic: a crash mid-write must not lose the counters."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"time": t, "counters": {key_to_text(k): v for k, v in counters.items()}})
    )
    os.replace(tmp, path)


# --- exposition --------------------------------------------------------------------------------


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def exposition(
    counters: dict[Key, float], gauges: dict[Key, float], extra: dict[Key, float] | None = None
) -> str:
    """Prometheus text format 0.0.4, grouped by metric family."""
    families: dict[str, list[str]] = {}
    for values in (counters, gauges, extra or {}):
        for (name, labels), value in values.items():
            families.setdefault(family_of(name), []).append(
                f"{name}{format_labels(labels)} {value!r}"
            )
    out = []
    for family in sorted(families):
        kind, help_text = METRIC_TYPES.get(family, ("gauge", family))
        out.append(f"# HELP {family} {help_text}")
        out.append(f"# TYPE {family} {kind}")
        out.extend(sorted(families[family]))
    return "\n".join(out) + "\n"


# --- the cache traffic -------------------------------------------------------------------------


class CacheTraffic:
    """Real GETs and SETs against the cache database: hits, misses and memory are Redis's own.

    A share ``hit_ratio`` of reads go to a set of hot keys (hits while they exist), the rest to
    keys that never exist (misses, then cached briefly). After a FLUSHDB the hot keys are gone
    until reads re-warm them, so the hit rate falls for a while, as a real cache's would.
    """

    def __init__(self, url: str, environment: DemoEnvironment) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2)
        self.env = environment
        self.filler_keys: list[str] = []
        self.error: str | None = None

    def run(self, stop: threading.Event) -> None:
        warmed = False
        while not stop.is_set():
            try:
                if not warmed:
                    self._warm()
                    warmed = True
                self._tick()
                self.error = None
            except redis.RedisError as exc:
                if self.error is None:
                    log.warning("cache traffic paused: %s", exc)
                self.error = str(exc)
                warmed = False
                stop.wait(2)
                continue
            stop.wait(0.1)

    def _warm(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        for i in range(HOT_KEYS):
            pipe.set(f"cache:hot:{i}", VALUE, ex=3600, nx=True)
        pipe.execute()

    def _tick(self) -> None:
        active = {s.name for s in self.env.scenarios.active(self.env.clock())}
        ratio = 0.55 if "cache_degraded" in active else 0.96
        reads = max(int(15 * self.env.load), 1)
        keys = [
            f"cache:hot:{random.randrange(HOT_KEYS)}"  # noqa: S311
            if random.random() < ratio  # noqa: S311
            else f"cache:cold:{random.getrandbits(48):x}"
            for _ in range(reads)
        ]
        values = self.client.mget(keys) if len(keys) > 1 else [self.client.get(keys[0])]
        pipe = self.client.pipeline(transaction=False)
        for key, value in zip(keys, values, strict=True):
            if value is None:
                ttl = 3600 if key.startswith("cache:hot:") else 60
                pipe.set(key, VALUE, ex=ttl)
        pipe.execute()
        self._pressure("redis_memory_pressure" in active)

    def _pressure(self, is_on: bool) -> None:
        """Fill towards 90 % of maxmemory with expiring keys while the scenario runs."""
        if not is_on:
            if self.filler_keys:
                self.client.delete(*self.filler_keys)
                self.filler_keys.clear()
            return
        info = self.client.info("memory")
        limit = int(info.get("maxmemory") or 0)
        if not limit or info["used_memory"] >= 0.9 * limit:
            return
        chunk = b"p" * (256 * 1024)
        pipe = self.client.pipeline(transaction=False)
        for _ in range(8):
            key = f"cache:pressure:{len(self.filler_keys)}"
            self.filler_keys.append(key)
            pipe.set(key, chunk, ex=3600)
        pipe.execute()


# --- the environment ---------------------------------------------------------------------------


@dataclass
class DemoEnvironment:
    state_path: Path
    redis_url: str | None = None
    # Injectable so that tests can move time (pods start a few seconds after they are created).
    clock: Callable[[], float] = time.time
    scenarios: ScenarioBook = field(default_factory=ScenarioBook)
    simulation: Simulation = field(default_factory=Simulation)
    # DEMO_PODS and DEMO_NODES: the demo cluster's size, read once where the demo starts.
    size: ClusterSize = field(default_factory=cluster_size)

    def __post_init__(self) -> None:
        self.cluster = Cluster(self.scenarios, clock=self.clock, size=self.size)
        self.cluster.usage = self._pod_usage
        saved_at, values = load_state(self.state_path)
        self.counters = Counters(values)
        self.last_time = saved_at or self.clock()
        self.last_saved = 0.0
        self.sample: Sample | None = None
        self.load = 1.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.cache: CacheTraffic | None = None
        self._usage: tuple[Sample | None, dict[str, tuple[float, float]]] = (None, {})
        self.tick()

    def tick(self, now: float | None = None) -> None:
        """Advance every counter to ``now``; a long gap (the process was down) is integrated in
        one-minute steps at baseline, so the counters stay monotonic and plausible."""
        with self._lock:
            # Read under the lock: a scrape and the ticker may race, and time must not run
            # backwards (it would count an interval twice).
            now = max(now or self.clock(), self.last_time)
            view = self.cluster.view()
            while now - self.last_time > 60:
                step = self.last_time + 60
                self.counters.advance(self.simulation.sample(step, [], view), 60)
                self.last_time = step
            sample = self.simulation.sample(now, self.scenarios.active(now), view)
            self.counters.advance(sample, max(now - self.last_time, 0.0))
            self.last_time, self.sample = now, sample
            requests = sum(v for (n, _), v in sample.rates.items() if n == "http_requests_total")
            self.load = requests / 320.0
            if now - self.last_saved >= SAVE_EVERY_SECONDS:
                save_state(self.state_path, now, self.counters.values)
                self.last_saved = now

    def metrics_text(self) -> str:
        self.tick()  # values as of this scrape, like a real exporter's
        with self._lock:
            sample = self.sample
            counters = dict(self.counters.values)
        assert sample is not None
        return exposition(counters, sample.gauges, self._kube_state())

    def _kube_state(self) -> dict[Key, float]:
        """kube-state-metrics' view of the demo cluster, for the Kubernetes dashboard."""
        out: dict[Key, float] = {}
        job = (("instance", "demo-cluster"), ("job", "kube-state-metrics"))
        for pod in self.cluster.list_objects("", "pods", NAMESPACE)["items"]:
            for phase in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
                labels = tuple(
                    sorted(
                        (
                            *job,
                            ("namespace", NAMESPACE),
                            ("pod", pod["metadata"]["name"]),
                            ("phase", phase),
                        )
                    )
                )
                out[("kube_pod_status_phase", labels)] = float(pod["status"]["phase"] == phase)
        for plural, kind in (("deployments", "deployment"), ("statefulsets", "statefulset")):
            for obj in self.cluster.list_objects("apps", plural, NAMESPACE)["items"]:
                labels = tuple(
                    sorted((*job, ("namespace", NAMESPACE), (kind, obj["metadata"]["name"])))
                )
                out[(f"kube_{kind}_spec_replicas", labels)] = float(obj["spec"]["replicas"])
                out[(f"kube_{kind}_status_replicas_ready", labels)] = float(
                    obj["status"].get("readyReplicas", 0)
                )
        return out

    def _pod_usage(self, pod: str) -> tuple[float, float]:
        sample = self.sample
        if sample is None:
            return 0.0, 0.0
        indexed, usage = self._usage
        if indexed is not sample:
            # One pass over the sample for all pods: `kubectl top` at 1,000 pods asks for each.
            cpu = {
                dict(labels).get("pod", ""): v
                for (n, labels), v in sample.rates.items()
                if n == "container_cpu_usage_seconds_total"
            }
            memory = {
                dict(labels).get("pod", ""): v
                for (n, labels), v in sample.gauges.items()
                if n == "container_memory_usage_bytes"
            }
            usage = {p: (cpu.get(p, 0.0), memory.get(p, 0.0)) for p in cpu.keys() | memory.keys()}
            self._usage = (sample, usage)
        return usage.get(pod, (0.0, 0.0))

    def start_scenario(self, name: Any, minutes: Any, labels: Any) -> dict[str, Any]:
        pods = self.cluster.view().backend_pods
        scenario = self.scenarios.start(name, minutes, labels, now=self.clock(), pods=pods)
        log.info("scenario %s started: %s for %s min", scenario.id, scenario.name, minutes)
        self.tick()  # visible at the very next scrape
        return scenario.as_json()

    # ---- threads
    def run_background(self) -> None:
        threading.Thread(target=self._ticker, name="demo-ticker", daemon=True).start()
        if self.redis_url:
            self.cache = CacheTraffic(self.redis_url, self)
            threading.Thread(
                target=self.cache.run, args=(self._stop,), name="demo-cache", daemon=True
            ).start()

    def _ticker(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick()
            except Exception:  # keep ticking; the next tick may well succeed
                log.exception("tick failed")

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            save_state(self.state_path, self.last_time, self.counters.values)


# --- HTTP --------------------------------------------------------------------------------------


def make_handler(env: DemoEnvironment) -> type[BaseHTTPRequestHandler]:
    class WorkloadHandler(QuietJsonHandler):
        server_version = "leanvibe-demo-workload/1.0"

        def do_GET(self) -> None:
            path = urlsplit(self.path).path.rstrip("/")
            if path == "/metrics":
                self.send_answer(
                    200, env.metrics_text(), "text/plain; version=0.0.4; charset=utf-8"
                )
            elif path == "/scenarios":
                self.send_answer(
                    200,
                    {
                        "active": [s.as_json() for s in env.scenarios.active(env.clock())],
                        "available": {
                            name: {
                                "description": kind.description,
                                "labels": list(kind.scope_labels),
                            }
                            for name, kind in sorted(KINDS.items())
                        },
                    },
                )
            elif path in ("", "/health", "/health/db"):
                self.send_answer(
                    200,
                    {"status": "ok", "cache_traffic_error": env.cache.error if env.cache else None},
                )
            else:
                self.send_answer(
                    404, {"error": f"no such path {path!r}; try /metrics or /scenarios"}
                )

        def do_POST(self) -> None:
            if urlsplit(self.path).path.rstrip("/") == "/api/v1/tenants":
                # The playbook's signup health check: a demo backend accepts any signup.
                try:
                    signup = json.loads(read_body(self.headers, self.rfile) or b"null")
                except (BodyError, ValueError) as exc:
                    return self.send_answer(400, {"error": f"not a signup: {exc}"})
                return self.send_answer(201, {"created": signup})
            if urlsplit(self.path).path.rstrip("/") != "/scenarios":
                return self.send_answer(404, {"error": "POST /scenarios starts a scenario"})
            try:
                body = json.loads(read_body(self.headers, self.rfile) or b"null")
            except BodyError as exc:
                self.close_connection = True  # the unread body would poison the connection
                return self.send_answer(exc.code, {"error": str(exc)})
            except ValueError as exc:
                return self.send_answer(400, {"error": f"the body is not JSON: {exc}"})
            if not isinstance(body, dict):
                return self.send_answer(
                    400, {"error": 'send {"name": ..., "minutes": ..., "labels": {...}}'}
                )
            try:
                started = env.start_scenario(
                    body.get("name"), body.get("minutes", 10), body.get("labels")
                )
            except ScenarioError as exc:
                return self.send_answer(400, {"error": str(exc)})
            self.send_answer(201, started)

        def do_DELETE(self) -> None:
            path = urlsplit(self.path).path.rstrip("/")
            if path == "/scenarios":
                ended = env.scenarios.end(now=env.clock())
            elif path.startswith("/scenarios/") and path.rsplit("/", 1)[1].isdigit():
                ended = env.scenarios.end(int(path.rsplit("/", 1)[1]), now=env.clock())
                if not ended:
                    return self.send_answer(404, {"error": "no active scenario with that id"})
            else:
                return self.send_answer(404, {"error": "DELETE /scenarios or /scenarios/<id>"})
            env.tick()
            self.send_answer(200, {"ended": ended})

    return WorkloadHandler


def serve(env: DemoEnvironment, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(env))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-workload", daemon=True).start()
    return server
