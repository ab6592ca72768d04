"""Incident scenarios: what each one does, which labels scope it, and the set that is active.

A scenario is data (name, labels, start, end); its effect on the simulated metrics is computed by
``demo.model`` from the active set at each moment, so that the live workload and the backfill of
past incidents share one definition.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

MAX_MINUTES = 24 * 60


@dataclass(frozen=True)
class ScenarioKind:
    name: str
    description: str
    # Label keys that may scope it; an empty tuple means it affects the whole system.
    scope_labels: tuple[str, ...] = ()


KINDS: dict[str, ScenarioKind] = {
    kind.name: kind
    for kind in (
        ScenarioKind(
            "latency_spike",
            "API latency x4 under load (relieved by more leanvibe-backend replicas)",
            ("tenant_tier", "endpoint"),
        ),
        ScenarioKind("error_burst", "12 % of requests answer 500", ("tenant_tier", "endpoint")),
        ScenarioKind("throughput_drop", "traffic falls to 4 %", ("tenant_tier", "endpoint")),
        ScenarioKind(
            "cpu_saturation", "pods and cluster nodes near 100 % CPU", ("pod", "instance")
        ),
        ScenarioKind(
            "memory_leak",
            "backend pods leak memory past 80 % of their limit (cleared by new pods)",
            ("pod",),
        ),
        ScenarioKind("disk_fill", "cluster node disks fill past 90 %", ("instance",)),
        ScenarioKind(
            "neo4j_connection_surge",
            "connection demand exceeds the pool (relieved by CONNECTION_POOL_SIZE 40)",
        ),
        ScenarioKind("neo4j_slow_queries", "Neo4j p95 query time x12"),
        ScenarioKind("cache_degraded", "Redis cache hit ratio falls to 55 %"),
        ScenarioKind("redis_memory_pressure", "the cache Redis fills towards its maxmemory"),
        ScenarioKind("tenant_drop", "active tenants fall 15 %", ("tenant_tier",)),
        ScenarioKind("mrr_drop", "MRR falls 15 %", ("tenant_tier",)),
        ScenarioKind("signup_drop", "tenant signups stop", ("tenant_tier",)),
        ScenarioKind("backup_failed", "the nightly backup fails"),
    )
}


class ScenarioError(ValueError):
    """A scenario request that cannot be honoured; the message says why."""


@dataclass
class Scenario:
    id: int
    name: str
    labels: dict[str, str]
    started_at: float
    ends_at: float
    # Pods that existed when it started: a memory leak lives in those processes only.
    pods: tuple[str, ...] = ()

    def is_active(self, t: float) -> bool:
        return self.started_at <= t < self.ends_at

    def applies_to(self, series_labels: dict[str, str]) -> bool:
        """True when the series carries every scoping label with its value: a scenario scoped
        to a pod does not touch the nodes, one scoped to a node does not touch the pods."""
        return all(series_labels.get(key) == value for key, value in self.labels.items())

    def progress(self, t: float) -> float:
        span = max(self.ends_at - self.started_at, 1.0)
        return min(max((t - self.started_at) / span, 0.0), 1.0)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "labels": self.labels,
            "started_at": self.started_at,
            "ends_at": self.ends_at,
            "description": KINDS[self.name].description,
        }


def validate(name: Any, minutes: Any, labels: Any) -> tuple[str, float, dict[str, str]]:
    """Check a request; raise ``ScenarioError`` with a message a person can act on."""
    if not isinstance(name, str) or name not in KINDS:
        raise ScenarioError(f"unknown scenario {name!r}; known: {', '.join(sorted(KINDS))}")
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        raise ScenarioError("minutes must be a number")
    if not 0 < minutes <= MAX_MINUTES:
        raise ScenarioError(f"minutes must be between 0 and {MAX_MINUTES}")
    if labels is None:
        labels = {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise ScenarioError("labels must be an object of string values")
    allowed = KINDS[name].scope_labels
    unknown = sorted(set(labels) - set(allowed))
    if unknown:
        scope = ", ".join(allowed) if allowed else "no labels (it affects the whole system)"
        raise ScenarioError(f"{name} cannot be scoped by {', '.join(unknown)}; it takes {scope}")
    return name, float(minutes), dict(labels)


@dataclass
class ScenarioBook:
    """The active scenarios, shared by the workload's threads and the demo cluster."""

    _scenarios: dict[int, Scenario] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(
        self, name: Any, minutes: Any, labels: Any, *, now: float, pods: tuple[str, ...] = ()
    ) -> Scenario:
        name, minutes, labels = validate(name, minutes, labels)
        with self._lock:
            scenario = Scenario(next(self._ids), name, labels, now, now + minutes * 60, pods)
            self._scenarios[scenario.id] = scenario
            return scenario

    def active(self, now: float) -> list[Scenario]:
        with self._lock:
            for key in [k for k, s in self._scenarios.items() if s.ends_at <= now]:
                del self._scenarios[key]
            return [s for s in self._scenarios.values() if s.is_active(now)]

    def end(self, scenario_id: int | None = None, *, now: float) -> int:
        """End one scenario (or all); returns how many ended."""
        with self._lock:
            ids = list(self._scenarios) if scenario_id is None else [scenario_id]
            ended = 0
            for key in ids:
                scenario = self._scenarios.pop(key, None)
                if scenario is not None and scenario.ends_at > now:
                    ended += 1
            return ended
