"""Weeks of history for the simulated metrics, written into Prometheus's data directory with
``promtool tsdb create-blocks-from openmetrics`` before Prometheus starts.

The history uses the same model as the live workload and ends with the state file the workload
continues from, so counters stay monotonic and there is no gap before now. A few past incidents
are in it to be found later. Redis's hit/miss counters and memory are backfilled under the real
redis_exporter's labels, so the cache has a history too (the live exporter continues it after a
counter reset, as after any Redis restart).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from demo.model import (
    DAY,
    METRIC_TYPES,
    ClusterSize,
    ClusterView,
    Counters,
    Key,
    Simulation,
    baseline_cluster,
    cluster_size,
    daily,
    family_of,
    noise,
)
from demo.scenarios import Scenario
from demo.workload import format_labels, load_state, save_state

# Two minutes, not five: every playbook query takes rate() over 5m, which needs two samples in
# the window; five-minute history would be invisible to them (and to backtests).
STEP = 120
MARKER = ".demo-backfill.json"
REDIS_MAXMEMORY = 64 * 2**20
# The business dashboards offer 90 days: their series get 95, whatever DEMO_HISTORY_DAYS says
# (they are 22 series, a second of work).
BUSINESS_HISTORY_DAYS = 95
# Before DEMO_HISTORY_DAYS the business series are sampled every BUSINESS_STRIDE steps (4 min):
# their queries take increase() and rate() over an hour or a day, and a gauge sampled more
# often than Prometheus's 5-minute lookback never shows a gap. It halves that history's cost.
BUSINESS_STRIDE = 2
# The series of each backend pod and each node grow with DEMO_PODS and DEMO_NODES: they get at
# most this many samples in all (the default demo's 45 such series fit 35 days several times
# over; 1,000 pods and 100 nodes, 4,200 series, get about two days), so that a large demo's
# first start stays near a minute. Every other series keeps DEMO_HISTORY_DAYS.
PER_POD_SAMPLES = 6_000_000
PER_POD_MIN_DAYS = 0.5
SERIES_PER_POD = 3  # container CPU, memory, memory limit
SERIES_PER_NODE = 12  # CPU by core and mode, memory, filesystem, network


def per_pod_days(days: float, size: ClusterSize) -> float:
    """Days of history for the per-pod and per-node series of a demo of ``size``."""
    series = size.pods * SERIES_PER_POD + size.nodes * SERIES_PER_NODE
    affordable = PER_POD_SAMPLES / (series * DAY / STEP)
    return min(days, max(affordable, PER_POD_MIN_DAYS))


@dataclass(frozen=True)
class PastIncident:
    name: str
    days_ago: float
    minutes: float
    labels: tuple[tuple[str, str], ...] = ()


PAST_INCIDENTS = (
    PastIncident("cache_degraded", 3, 50),
    PastIncident("memory_leak", 5.3, 40),
    PastIncident("backup_failed", 6.6, 24 * 60),
    PastIncident("latency_spike", 9, 45, (("tenant_tier", "enterprise"),)),
    PastIncident("error_burst", 12.4, 25),
    PastIncident("neo4j_slow_queries", 16.2, 35),
    PastIncident("mrr_drop", 20, 24 * 60),
    PastIncident("tenant_drop", 27, 6 * 60, (("tenant_tier", "developer"),)),
)


def past_scenarios(
    end: float,
    incidents: Sequence[PastIncident] = PAST_INCIDENTS,
    pods: tuple[str, ...] = baseline_cluster(ClusterSize()).backend_pods,
) -> list[Scenario]:
    out = []
    for i, incident in enumerate(incidents, start=1):
        start = end - incident.days_ago * DAY
        out.append(
            Scenario(
                -i,
                incident.name,
                dict(incident.labels),
                start,
                start + incident.minutes * 60,
                pods,
            )
        )
    return out


def redis_series(t: float, scenarios: list[Scenario], instance: str) -> tuple[dict, dict]:
    """Rates and gauges of the real redis_exporter's metrics, for the history only."""
    labels = (("instance", instance), ("job", "redis"))
    degraded = any(s.name == "cache_degraded" and s.is_active(t) for s in scenarios)
    reads = 150 * daily(t)
    ratio = 0.55 if degraded else 0.96 + 0.01 * noise("redis:ratio", t)
    rates = {
        ("redis_keyspace_hits_total", labels): reads * ratio,
        ("redis_keyspace_misses_total", labels): reads * (1 - ratio),
    }
    gauges = {
        ("redis_memory_used_bytes", labels): 9.5e6 + 1.5e6 * noise("redis:mem", t),
        ("redis_memory_max_bytes", labels): float(REDIS_MAXMEMORY),
    }
    return rates, gauges


@dataclass
class History:
    """Simulated samples every STEP seconds, and the counters at the last one. A series
    starts at ``times[starts[key]]`` (0 when not given): the business series before the
    others, each pod's and node's after them."""

    times: array
    series: dict[Key, array]
    counters: dict[Key, float]
    starts: dict[Key, int] = field(default_factory=dict)

    @property
    def last(self) -> float:
        return self.times[-1]


def simulate(
    start: float,
    end: float,
    redis_instance: str | None,
    initial: dict[Key, float] | None = None,
    with_incidents: bool = True,
    incidents: Sequence[PastIncident] = PAST_INCIDENTS,
    *,
    cluster: ClusterView | None = None,
    business_from: float | None = None,
    per_pod_from: float | None = None,
) -> History:
    """Sample the model every STEP seconds from ``start`` to ``end`` (the last sample at
    ``end``), integrating the counters from ``initial``. The business series begin at
    ``business_from`` instead when it is earlier, each pod's and node's series at
    ``per_pod_from`` when it is later."""
    simulation = Simulation()
    cluster = cluster or baseline_cluster(ClusterSize())
    scenarios = past_scenarios(end, incidents, cluster.backend_pods) if with_incidents else []
    counters = Counters(initial)
    redis_counters: dict[Key, float] = {}
    times = array("d")
    series: dict[Key, array] = {}
    starts: dict[Key, int] = {}
    first = min(start, business_from if business_from is not None else start)
    per_pod_from = per_pod_from if per_pod_from is not None else first
    steps = int((end - first) // STEP) + 1
    t = end - (steps - 1) * STEP
    previous: float | None = None
    for index in range(steps):
        is_business_only = t < start - STEP / 2
        if is_business_only and index % BUSINESS_STRIDE:
            t += STEP  # the business series' older history is sampled more sparsely
            continue
        active = [s for s in scenarios if s.is_active(t)]
        if is_business_only:
            sample = simulation.sample_business(t, active)
        else:
            sample = simulation.sample(t, active, cluster, per_pod=t >= per_pod_from - STEP / 2)
        elapsed = t - previous if previous is not None else (STEP if initial else 0)
        counters.advance(sample, elapsed)
        previous = t
        values: dict[Key, float] = {**counters.values, **sample.gauges}
        if redis_instance and not is_business_only:
            rates, gauges = redis_series(t, active, redis_instance)
            for key, rate in rates.items():
                redis_counters[key] = redis_counters.get(key, 0.0) + rate * STEP
            values.update(redis_counters)
            values.update(gauges)
        position = len(times)
        times.append(t)
        for key, value in values.items():
            column = series.get(key)
            if column is None:
                column = series[key] = array("d")
                starts[key] = position
            elif starts[key] + len(column) < position:  # absent for a while: keep it aligned
                column.extend([math.nan] * (position - starts[key] - len(column)))
            column.append(value)
        t += STEP
    return History(times, series, counters.values, starts)


def write_openmetrics(history: History, paths: list[Path]) -> None:
    """Write the history as OpenMetrics text, the metric families spread over ``paths`` in
    about equal parts so that promtool can convert them in parallel."""
    series = history.series
    stamps = [f" {int(stamp)}\n" for stamp in history.times]
    starts = history.starts
    by_family: dict[str, list[Key]] = {}
    for key in series:
        by_family.setdefault(family_of(key[0]), []).append(key)
    shares: list[list[str]] = [[] for _ in paths]
    sizes = [0] * len(paths)
    for family in sorted(by_family, key=lambda f: -len(by_family[f])):
        smallest = sizes.index(min(sizes))
        shares[smallest].append(family)
        sizes[smallest] += len(by_family[family])
    for path, families in zip(paths, shares, strict=True):
        with path.open("w") as out:
            for family in sorted(families):
                out.write(_family_header(family))
                for key in sorted(by_family[family]):
                    sample_name, labels = key
                    prefix = f"{sample_name}{format_labels(labels)} "
                    out.write(
                        "".join(
                            [
                                prefix + format(value, ".9g") + stamp
                                for value, stamp in zip(
                                    series[key], stamps[starts.get(key, 0) :], strict=False
                                )
                                if value == value  # NaN: the series did not exist yet
                            ]
                        )
                    )
            out.write("# EOF\n")


def _family_header(family: str) -> str:
    kind = METRIC_TYPES.get(family, ("counter" if family.endswith("_total") else "gauge", ""))[0]
    if kind == "counter":
        # OpenMetrics names a counter family without its _total suffix.
        return f"# TYPE {family.removesuffix('_total')} counter\n"
    return f"# TYPE {family} {kind}\n"


def backfill(
    var_dir: Path,
    on_state_saved: Callable[[], None] | None = None,
    *,
    days: float = 35,
    redis_exporter_port: int | None = 9121,
    now: float | None = None,
    incidents: Sequence[PastIncident] = PAST_INCIDENTS,
    size: ClusterSize | None = None,
    business_days: float = BUSINESS_HISTORY_DAYS,
) -> str:
    """Make sure the history exists and reaches up to now; returns what it did.

    First run: ``days`` of history with the past incidents, ``business_days`` of the business
    series, and ``per_pod_days`` of each backend pod's and node's series (all of ``days``
    but in a large demo). Later runs: only the gap since the workload last saved its state
    (the stack was stopped), at baseline. Blocks are built in a staging folder and moved into
    Prometheus's data directory only when every promtool run succeeded, so an interrupted
    run leaves nothing half-written behind."""
    size = size or cluster_size()
    data_dir = var_dir / "prometheus" / "data"
    state_path = var_dir / "demo" / "state.json"
    marker = data_dir / MARKER
    now = now or time.time()
    end = now - 30  # promtool wants history that ends before now
    redis_instance = f"127.0.0.1:{redis_exporter_port}" if redis_exporter_port else None
    started = time.monotonic()
    pod_days = per_pod_days(days, size)
    business_from: float | None = None
    if not marker.exists():
        start, initial, with_incidents = end - days * DAY, None, True
        business_from = end - max(business_days, days) * DAY
    else:
        saved_at, initial = load_state(state_path)
        if saved_at is None:
            return "history present; no workload state to continue from"
        if end - saved_at < 2 * STEP:
            return "history is up to date"
        start, with_incidents, redis_instance = saved_at + STEP, False, None
    history = simulate(
        start,
        end,
        redis_instance,
        initial or None,
        with_incidents,
        incidents,
        cluster=baseline_cluster(size),
        business_from=business_from,
        per_pod_from=end - pod_days * DAY,
    )
    # The workload may start as soon as it has counters to continue from; Prometheus, already
    # running, loads the blocks written below at its next reload (within a minute).
    save_state(state_path, history.last, history.counters)
    if on_state_saved is not None:
        on_state_saved()
    staging = var_dir / "demo" / "backfill-staging"
    shutil.rmtree(staging, ignore_errors=True)  # left by an interrupted run
    blocks = staging / "blocks"
    blocks.mkdir(parents=True)
    try:
        sources = [staging / f"history-{i}.om" for i in range(2)]
        write_openmetrics(history, sources)
        # Two promtools, one per core; their blocks overlap in time, which Prometheus merges.
        runs = [
            subprocess.Popen(
                [
                    "promtool",
                    "tsdb",
                    "create-blocks-from",
                    "openmetrics",
                    "--max-block-duration=500h",
                    str(source),
                    str(blocks),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for source in sources
        ]
        errors = "".join(run.communicate()[1] for run in runs)
        if any(run.returncode for run in runs):
            raise RuntimeError(f"promtool failed: {errors.strip()[-2000:]}")
        data_dir.mkdir(parents=True, exist_ok=True)
        for block in blocks.iterdir():
            if block.is_dir():
                os.replace(block, data_dir / block.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    marker.write_text(
        json.dumps(
            {
                "start": start,
                "end": history.last,
                "days": days,
                "business_start": business_from,
                "per_pod_days": pod_days,
            }
        )
    )
    took = time.monotonic() - started
    done = f"backfilled {(history.last - start) / DAY:.1f} days"
    if business_from is not None and business_from < start:
        business = round((history.last - business_from) / DAY, 1)
        done += f" ({business:g} days of the business series"
        if pod_days < days:
            done += f", {pod_days:.1f} of each of the {size.pods:,} pods and {size.nodes} nodes"
        done += ")"
    elif pod_days < days:
        done += f" ({pod_days:.1f} of each pod and node)"
    return f"{done} in {took:.1f}s"
