"""The simulated LeanVibe system: every metric of the playbook that no real exporter here
provides, as a function of time, the cluster's state and the active scenarios.

Counters are described by their *rates* and integrated by the caller (the live workload every
second, the backfill every five minutes), so that the history and the live values join without a
jump. Values are lifelike: daily and weekly seasonality, smooth noise, slow growth of tenants and
MRR, and a latency profile per tier. At baseline every playbook expression sits inside its
thresholds, so an alert always means something happened.
"""

from __future__ import annotations

import functools
import math
import os
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from demo.scenarios import Scenario

Labels = tuple[tuple[str, str], ...]
Key = tuple[str, Labels]

DAY = 86_400.0
WEEK = 7 * DAY
# Growth is measured from a fixed date so that every process computes the same curve.
GROWTH_EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z

APP = (("instance", "demo"), ("job", "leanvibe"))
NAMESPACE = "leanvibe-production"

TIERS = ("enterprise", "team", "developer")
TIER_SHARE = {"enterprise": 0.45, "team": 0.35, "developer": 0.20}
# (endpoint, method, share of a tier's traffic)
ENDPOINTS = (
    ("/api/v1/projects", "GET", 0.35),
    ("/api/v1/projects", "POST", 0.10),
    ("/api/v1/agents", "POST", 0.25),
    ("/api/v1/search", "GET", 0.30),
)
BASE_RPS = 320.0
# Log-normal latency: median per tier, one sigma for all. p95 = median * 2.28.
LATENCY_MEDIAN = {"enterprise": 0.050, "team": 0.130, "developer": 0.260}
LATENCY_SIGMA = 0.5
HTTP_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
NEO4J_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

TENANTS = {"enterprise": 42.0, "team": 318.0, "developer": 1240.0}
MRR_USD = {"enterprise": 186_000.0, "team": 95_400.0, "developer": 24_800.0}
SIGNUPS_PER_DAY = {"enterprise": 0.6, "team": 9.0, "developer": 28.0}
CANCELLATIONS_PER_DAY = {"enterprise": 0.05, "team": 0.8, "developer": 3.1}
MONTHLY_GROWTH = 0.03
# Uses per active tenant per day: feature adoption ("uses in the last 24 h per active
# tenant", shown in percent) reads 6 % to 115 %; only agent runs, which a tenant starts
# more than once a day, pass 100 %. Most used features are then ~5 to ~140 uses an hour.
FEATURES = {
    "agent_runs": 1.15,
    "project_sync": 0.82,
    "semantic_search": 0.68,
    "code_review": 0.5,
    "knowledge_graph": 0.37,
    "workflow_automation": 0.29,
    "sso_login": 0.21,
    "audit_export": 0.09,
    "custom_models": 0.075,
    "api_tokens": 0.06,
}

NODES = ("leanvibe-node-1", "leanvibe-node-2", "leanvibe-node-3")
NODE_CPUS = 2
NODE_MEMORY = 16 * 2**30
NODE_DISK = 200 * 10**9
BACKEND_MEMORY_LIMIT = 2**30
NEO4J_MAX_CONNECTIONS = 250

# The business dashboards' series: the history keeps them longest (their 90-day range).
BUSINESS_FAMILIES = frozenset(
    {
        "active_tenants_total",
        "monthly_recurring_revenue_usd",
        "tenant_signups_total",
        "tenant_cancellations_total",
        "feature_usage_total",
    }
)

METRIC_TYPES: dict[str, tuple[str, str]] = {
    "http_request_duration_seconds": ("histogram", "API request latency."),
    "http_requests_total": ("counter", "API requests by status."),
    "container_cpu_usage_seconds_total": ("counter", "CPU seconds used by a container."),
    "container_memory_usage_bytes": ("gauge", "Memory used by a container."),
    "container_spec_memory_limit_bytes": ("gauge", "Memory limit of a container."),
    "neo4j_bolt_connections_opened_total": ("counter", "Bolt connections opened."),
    "neo4j_bolt_connections_closed_total": ("counter", "Bolt connections closed."),
    "neo4j_bolt_connections_max": ("gauge", "Configured maximum of Bolt connections."),
    "neo4j_bolt_connections_active": ("gauge", "Bolt connections open now."),
    "neo4j_cypher_query_duration_seconds": ("histogram", "Cypher query time."),
    "neo4j_cypher_queries_total": ("counter", "Cypher queries executed."),
    "neo4j_transaction_committed_total": ("counter", "Committed transactions."),
    "neo4j_transaction_rollbacks_total": ("counter", "Rolled back transactions."),
    "active_tenants_total": ("gauge", "Tenants active in the last 24 hours."),
    "monthly_recurring_revenue_usd": ("gauge", "Monthly recurring revenue."),
    "tenant_signups_total": ("counter", "Tenant signups."),
    "tenant_cancellations_total": ("counter", "Tenant cancellations."),
    "feature_usage_total": ("counter", "Feature uses."),
    "leanvibe_backup_last_success_timestamp_seconds": ("gauge", "End of the last good backup."),
    "leanvibe_backup_last_run_timestamp_seconds": ("gauge", "End of the last backup run."),
    "leanvibe_backup_last_run_success": ("gauge", "1 if the last backup run succeeded."),
    "node_cpu_seconds_total": ("counter", "Cluster node CPU seconds by mode."),
    "node_memory_MemAvailable_bytes": ("gauge", "Cluster node available memory."),
    "node_memory_MemTotal_bytes": ("gauge", "Cluster node total memory."),
    "node_filesystem_avail_bytes": ("gauge", "Cluster node filesystem free space."),
    "node_filesystem_size_bytes": ("gauge", "Cluster node filesystem size."),
    "node_network_receive_bytes_total": ("counter", "Cluster node bytes received."),
    "node_network_transmit_bytes_total": ("counter", "Cluster node bytes sent."),
}


def labels(*pairs: tuple[str, str], **extra: str) -> Labels:
    return tuple(sorted([*pairs, *extra.items()]))


def family_of(name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in METRIC_TYPES:
            return name[: -len(suffix)]
    return name


# --- time shapes ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)
def _unit(seed: str, slot: int) -> float:
    """A repeatable pseudo-random number in [-1, 1] for a series and a time slot (cached:
    consecutive samples of a series share their slots, and a large demo has thousands)."""
    return (zlib.crc32(f"{seed}:{slot}".encode()) / 0xFFFFFFFF) * 2 - 1


def noise(seed: str, t: float, period: float = 600.0) -> float:
    """Smooth noise in [-1, 1]: cosine interpolation between repeatable random points."""
    slot, frac = divmod(t / period, 1.0)
    a, b = _unit(seed, int(slot)), _unit(seed, int(slot) + 1)
    w = (1 - math.cos(math.pi * frac)) / 2
    return a * (1 - w) + b * w


def daily(t: float) -> float:
    """Traffic through the day (UTC): lowest around 03:00, highest around 15:00."""
    hour = (t % DAY) / 3600
    return 1 + 0.35 * math.sin(2 * math.pi * (hour - 9) / 24)


def weekly(t: float) -> float:
    weekday = int((t // DAY + 3) % 7)  # 1970-01-01 was a Thursday; 5, 6 = Saturday, Sunday
    return 0.8 if weekday >= 5 else 1.0


def growth(t: float) -> float:
    return math.exp(math.log(1 + MONTHLY_GROWTH) * (t - GROWTH_EPOCH) / (30 * DAY))


def lognormal_cdf(x: float, median: float, sigma: float) -> float:
    return 0.5 * (1 + math.erf((math.log(x) - math.log(median)) / (sigma * math.sqrt(2))))


# --- the size of the demo cluster -----------------------------------------------------------

# DEMO_PODS and DEMO_NODES size the demo cluster. Bounded where they enter (trust rule 12): a
# backend pod is ~12 series and a node ~12 more, so 5,000 pods and 500 nodes stay within what
# one Prometheus on a laptop holds, and a typo (DEMO_PODS=100000) stops the demo with a message
# instead of exhausting memory.
DEFAULT_PODS = 3
DEFAULT_NODES = 3
PODS_MAX = 5000
NODES_MAX = 500
POD_TEMPLATE_HASH = "7d9f8b6c4"
# The three backend pods the demo always had keep their names, so links and docs still work.
FIRST_POD_SUFFIXES = ("x2k9p", "m4q7z", "h8r2n")
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes draws pod suffixes from


class SizeError(ValueError):
    """A DEMO_PODS or DEMO_NODES value outside its bounds; the message says which and why."""


def _bounded(env: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise SizeError(f"{name}={raw!r} must be a whole number from 1 to {maximum:,}.")
    return int(raw)


@dataclass(frozen=True)
class ClusterSize:
    """How many backend pods and cluster nodes the demo runs. The metrics model and the demo
    Kubernetes API both take their names from here, so a pod in a Prometheus series is the
    pod ``kubectl get pods`` lists."""

    pods: int = DEFAULT_PODS
    nodes: int = DEFAULT_NODES

    def __post_init__(self) -> None:
        if not 1 <= self.pods <= PODS_MAX:
            raise SizeError(f"DEMO_PODS={self.pods} must be from 1 to {PODS_MAX:,}.")
        if not 1 <= self.nodes <= NODES_MAX:
            raise SizeError(f"DEMO_NODES={self.nodes} must be from 1 to {NODES_MAX:,}.")

    @property
    def pod_suffixes(self) -> list[str]:
        """Repeatable, distinct suffixes of the backend pods' names (the first three as ever)."""
        suffixes = list(FIRST_POD_SUFFIXES[: self.pods])
        seen = set(suffixes)
        index = 0
        while len(suffixes) < self.pods:
            index += 1
            number = zlib.crc32(f"leanvibe-backend:{index}".encode())
            suffix = ""
            for _ in range(5):
                number, digit = divmod(number, len(_SUFFIX_ALPHABET))
                suffix += _SUFFIX_ALPHABET[digit]
            if suffix not in seen:
                seen.add(suffix)
                suffixes.append(suffix)
        return suffixes

    @property
    def backend_pods(self) -> tuple[str, ...]:
        return tuple(sorted(f"leanvibe-backend-{POD_TEMPLATE_HASH}-{s}" for s in self.pod_suffixes))

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(f"leanvibe-node-{i}" for i in range(1, self.nodes + 1))


def cluster_size(env: Mapping[str, str] | None = None) -> ClusterSize:
    """The size ``DEMO_PODS`` and ``DEMO_NODES`` ask for (defaults: 3 and 3); ``SizeError``
    for a value that is not a whole number within its bounds."""
    env = os.environ if env is None else env
    return ClusterSize(
        pods=_bounded(env, "DEMO_PODS", DEFAULT_PODS, PODS_MAX),
        nodes=_bounded(env, "DEMO_NODES", DEFAULT_NODES, NODES_MAX),
    )


# --- the cluster as the workload sees it ----------------------------------------------------


@dataclass(frozen=True)
class ClusterView:
    """What the simulation needs from the demo cluster."""

    backend_pods: tuple[str, ...]
    redis_pods: tuple[str, ...]
    neo4j_pods: tuple[str, ...]
    pool_size: int
    nodes: tuple[str, ...] = field(default=NODES)
    # The backend replicas the demo was seeded with: the load each pod carries, and how much
    # a latency spike hurts, are relative to it, so a demo of 1,000 pods behaves like one of 3.
    seeded_replicas: int = DEFAULT_PODS

    @property
    def replicas(self) -> int:
        return max(len(self.backend_pods), 1)


def baseline_cluster(size: ClusterSize) -> ClusterView:
    """The cluster as the demo seeds it, for the history (which has no cluster to ask)."""
    return ClusterView(
        backend_pods=size.backend_pods,
        redis_pods=("redis-5c7b9d8f6-q9w2e",),
        neo4j_pods=("neo4j-0",),
        pool_size=20,
        nodes=size.node_names,
        seeded_replicas=size.pods,
    )


BASELINE_CLUSTER = baseline_cluster(ClusterSize())


# --- effects of the active scenarios ---------------------------------------------------------


@dataclass
class Effects:
    scenarios: list[Scenario]
    t: float

    def __post_init__(self) -> None:
        # Asked per pod and node: most questions are about a scenario that is not running.
        self._names = {s.name for s in self.scenarios}

    def _matching(self, name: str, series: dict[str, str]) -> list[Scenario]:
        if name not in self._names:
            return []
        return [s for s in self.scenarios if s.name == name and s.applies_to(series)]

    def has(self, name: str, series: dict[str, str] | None = None) -> bool:
        return bool(self._matching(name, series or {}))

    def leak_progress(self, pod: str) -> float | None:
        if "memory_leak" not in self._names:
            return None
        leaks = [
            s for s in self._matching("memory_leak", {"pod": pod}) if pod in s.pods or not s.pods
        ]
        return max((s.progress(self.t) for s in leaks), default=None)


# --- the sample at one moment ----------------------------------------------------------------


@dataclass
class Sample:
    rates: dict[Key, float]
    gauges: dict[Key, float]


class Simulation:
    """Rates of every counter and values of every gauge at a moment."""

    def __init__(self) -> None:
        self._http_series = [
            (tier, endpoint, method, share)
            for tier in TIERS
            for endpoint, method, share in ENDPOINTS
        ]

    def sample(
        self,
        t: float,
        scenarios: Iterable[Scenario],
        cluster: ClusterView,
        *,
        per_pod: bool = True,
    ) -> Sample:
        """Every series at ``t``; without ``per_pod``, not those of each backend pod and each
        node (the series whose number grows with DEMO_PODS and DEMO_NODES: the history
        keeps fewer days of them in a large demo)."""
        effects = Effects(list(scenarios), t)
        rates: dict[Key, float] = {}
        gauges: dict[Key, float] = {}
        load = self._http(t, effects, cluster, rates)
        self._containers(t, effects, cluster, load, rates, gauges, per_pod=per_pod)
        self._neo4j(t, effects, cluster, load, rates, gauges)
        self._business(t, effects, rates, gauges)
        if per_pod:
            self._nodes(t, effects, cluster, load, rates, gauges)
        return Sample(rates, gauges)

    def sample_business(self, t: float, scenarios: Iterable[Scenario]) -> Sample:
        """The business series alone (``BUSINESS_FAMILIES``), for the longer history of the
        business dashboards."""
        rates: dict[Key, float] = {}
        gauges: dict[Key, float] = {}
        self._business(t, Effects(list(scenarios), t), rates, gauges)
        for key in [k for k in gauges if k[0] not in BUSINESS_FAMILIES]:
            del gauges[key]  # the backup's gauges are operations, not business
        return Sample(rates, gauges)

    # HTTP: per tier, endpoint and method; returns the load relative to the base traffic.
    def _http(self, t: float, fx: Effects, cluster: ClusterView, rates: dict[Key, float]) -> float:
        # Traffic has seasons but no long-term trend, so the baseline stays inside every
        # threshold however long the demo runs; tenants and revenue grow.
        season = daily(t) * weekly(t)
        total = 0.0
        for tier, endpoint, method, share in self._http_series:
            series = {"tenant_tier": tier, "endpoint": endpoint, "method": method}
            seed = f"http:{tier}:{endpoint}:{method}"
            rps = BASE_RPS * TIER_SHARE[tier] * share * season * (1 + 0.06 * noise(seed, t))
            if fx.has("throughput_drop", series):
                rps *= 0.04
            total += rps
            errors = 0.0015 * (1 + 0.5 * noise(seed + ":e", t))
            if fx.has("error_burst", series):
                errors = 0.12
            base = labels(*APP, tenant_tier=tier, endpoint=endpoint, method=method)
            for status, part in (("200", 1 - errors - 0.006), ("404", 0.006), ("500", errors)):
                rates[("http_requests_total", labels(*base, status=status))] = rps * part
            median = LATENCY_MEDIAN[tier] * (1 + 0.08 * noise(seed + ":l", t))
            if fx.has("latency_spike", series):
                # Load-bound: more replicas share it (3 seeded replicas: x4, scaled to 6:
                # x1.375), strong enough that the p95 over 5 minutes crosses 200 ms within
                # half a minute.
                median *= 1 + 3 * (cluster.seeded_replicas / cluster.replicas) ** 3
            self._histogram(
                "http_request_duration_seconds",
                base,
                rps,
                median,
                LATENCY_SIGMA,
                HTTP_BUCKETS,
                rates,
            )
        return total / BASE_RPS

    _bucket_keys: dict[tuple[str, Labels], list[tuple[float, Key]]] = {}
    _pod_keys: dict[tuple[str, str], Labels] = {}

    @classmethod
    def _histogram(
        cls,
        name: str,
        base: Labels,
        rate: float,
        median: float,
        sigma: float,
        buckets: tuple[float, ...],
        rates: dict[Key, float],
    ) -> None:
        keys = cls._bucket_keys.get((name, base))
        if keys is None:  # label tuples are built once per series, not once per sample
            keys = [(math.log(le), (f"{name}_bucket", labels(*base, le=_le(le)))) for le in buckets]
            keys.append((math.inf, (f"{name}_bucket", labels(*base, le="+Inf"))))
            cls._bucket_keys[(name, base)] = keys
        log_median, scale = math.log(median), sigma * math.sqrt(2)
        erf = math.erf
        for log_le, key in keys:
            rates[key] = rate * 0.5 * (1 + erf((log_le - log_median) / scale))
        rates[(f"{name}_count", base)] = rate
        rates[(f"{name}_sum", base)] = rate * median * math.exp(sigma**2 / 2)

    def _containers(
        self,
        t: float,
        fx: Effects,
        cluster: ClusterView,
        load: float,
        rates: dict[Key, float],
        gauges: dict[Key, float],
        *,
        per_pod: bool = True,
    ) -> None:
        keys = self._pod_keys

        def pod_labels(pod: str, container: str) -> Labels:
            key = keys.get((pod, container))
            if key is None:  # built once per pod, not once per pod and sample
                key = keys[(pod, container)] = labels(
                    *APP, namespace=NAMESPACE, pod=pod, container=container
                )
            return key

        cpu_each = 0.10 + 0.35 * load * cluster.seeded_replicas / cluster.replicas
        for pod in cluster.backend_pods if per_pod else ():
            key = pod_labels(pod, "backend")
            cpu = cpu_each * (1 + 0.1 * noise(f"cpu:{pod}", t))
            if fx.has("cpu_saturation", {"pod": pod}):
                cpu = 0.97 + 0.02 * noise(f"cpu:{pod}", t, 60)
            rates[("container_cpu_usage_seconds_total", key)] = cpu
            memory = BACKEND_MEMORY_LIMIT * (0.5 + 0.04 * load + 0.03 * noise(f"mem:{pod}", t))
            leak = fx.leak_progress(pod)
            if leak is not None:
                memory = BACKEND_MEMORY_LIMIT * (0.83 + 0.15 * leak)
            gauges[("container_memory_usage_bytes", key)] = memory
            gauges[("container_spec_memory_limit_bytes", key)] = BACKEND_MEMORY_LIMIT
        for pods, container, cpu, used, limit in (
            (cluster.redis_pods, "redis", 0.06, 0.45, 512 * 2**20),
            (cluster.neo4j_pods, "neo4j", 0.35, 0.62, 4 * 2**30),
        ):
            for pod in pods:
                key = pod_labels(pod, container)
                busy = cpu * (0.7 + 0.3 * load)
                if fx.has("cpu_saturation", {"pod": pod}):
                    busy = 0.97
                rates[("container_cpu_usage_seconds_total", key)] = busy
                gauges[("container_memory_usage_bytes", key)] = limit * (
                    used + 0.02 * noise(f"mem:{pod}", t)
                )
                gauges[("container_spec_memory_limit_bytes", key)] = limit

    def _neo4j(
        self,
        t: float,
        fx: Effects,
        cluster: ClusterView,
        load: float,
        rates: dict[Key, float],
        gauges: dict[Key, float],
    ) -> None:
        base = labels(*APP)
        # Per replica: the backend's queries shared by its replicas (10 each at 3), so that a
        # demo of 1,000 pods does not hold 1,000 pools' worth of connections at baseline.
        demand = 30 * load * (1 + 0.1 * noise("neo4j:demand", t)) / cluster.replicas
        if fx.has("neo4j_connection_surge"):
            demand = 50.0
        pooled = min(demand, cluster.pool_size)
        # Requests the pool cannot serve open their own short-lived connections, two each.
        overflow = max(demand - cluster.pool_size, 0) * 2
        active = min(cluster.replicas * (pooled + overflow), NEO4J_MAX_CONNECTIONS)
        # Exported as a gauge too; the integrator derives the "closed" counter from it.
        gauges[("neo4j_bolt_connections_active", base)] = active
        gauges[("neo4j_bolt_connections_max", base)] = NEO4J_MAX_CONNECTIONS
        churn = 4.0 * load + cluster.replicas * overflow * 0.5
        rates[("neo4j_bolt_connections_opened_total", base)] = churn
        qps = 180 * load
        rates[("neo4j_cypher_queries_total", base)] = qps
        median = 0.025 * (1 + 0.1 * noise("neo4j:latency", t))
        if fx.has("neo4j_slow_queries"):
            median *= 12
        self._histogram(
            "neo4j_cypher_query_duration_seconds", base, qps, median, 0.7, NEO4J_BUCKETS, rates
        )
        rollback = 0.004 if not fx.has("neo4j_connection_surge") else 0.05
        rates[("neo4j_transaction_committed_total", base)] = qps * 0.4 * (1 - rollback)
        rates[("neo4j_transaction_rollbacks_total", base)] = qps * 0.4 * rollback

    def _business(
        self, t: float, fx: Effects, rates: dict[Key, float], gauges: dict[Key, float]
    ) -> None:
        g = growth(t)
        total_tenants = 0.0
        for tier in TIERS:
            series = {"tenant_tier": tier}
            key = labels(*APP, tenant_tier=tier)
            active = (
                TENANTS[tier]
                * g
                * (0.97 + 0.03 * daily(t))
                * (1 + 0.005 * noise(f"tenants:{tier}", t, 3600))
            )
            if fx.has("tenant_drop", series):
                active *= 0.85
            total_tenants += active
            gauges[("active_tenants_total", key)] = round(active)
            mrr = MRR_USD[tier] * g * (1 + 0.002 * noise(f"mrr:{tier}", t, 6 * 3600))
            if fx.has("mrr_drop", series):
                mrr *= 0.85
            gauges[("monthly_recurring_revenue_usd", key)] = round(mrr, 2)
            signups = SIGNUPS_PER_DAY[tier] * g * daily(t) * weekly(t) / DAY
            if fx.has("signup_drop", series):
                signups = 0.0
            rates[("tenant_signups_total", key)] = signups
            rates[("tenant_cancellations_total", key)] = CANCELLATIONS_PER_DAY[tier] * g / DAY
        for feature, per_tenant_day in FEATURES.items():
            key = labels(*APP, feature_name=feature)
            rates[("feature_usage_total", key)] = (
                total_tenants * per_tenant_day * daily(t) * weekly(t) / DAY
            )
        # Nightly backup at 02:00 UTC taking ~11 minutes.
        day_start = t - t % DAY
        last_run = day_start + 2 * 3600 + 660
        if last_run > t:
            last_run -= DAY
        failed = fx.has("backup_failed")
        app = labels(*APP)
        gauges[("leanvibe_backup_last_run_timestamp_seconds", app)] = last_run
        gauges[("leanvibe_backup_last_run_success", app)] = 0.0 if failed else 1.0
        gauges[("leanvibe_backup_last_success_timestamp_seconds", app)] = (
            last_run - DAY if failed else last_run
        )

    def _nodes(
        self,
        t: float,
        fx: Effects,
        cluster: ClusterView,
        load: float,
        rates: dict[Key, float],
        gauges: dict[Key, float],
    ) -> None:
        for node in cluster.nodes:
            base = (("instance", node), ("job", "kubernetes-nodes"))
            busy = 0.22 + 0.22 * load + 0.04 * noise(f"node:{node}", t)
            if fx.has("cpu_saturation", {"instance": node}):
                busy = 0.975
            for cpu in range(NODE_CPUS):
                for mode, part in (
                    ("idle", 1 - busy),
                    ("user", busy * 0.75),
                    ("system", busy * 0.25),
                ):
                    key = labels(*base, cpu=str(cpu), mode=mode)
                    rates[("node_cpu_seconds_total", key)] = part
            plain = labels(*base)
            gauges[("node_memory_MemTotal_bytes", plain)] = NODE_MEMORY
            gauges[("node_memory_MemAvailable_bytes", plain)] = NODE_MEMORY * (
                0.46 - 0.06 * load + 0.02 * noise(f"nodemem:{node}", t)
            )
            fs = labels(*base, device="/dev/nvme0n1p1", fstype="ext4", mountpoint="/")
            used = 0.52 + 0.05 * ((t - GROWTH_EPOCH) % (30 * DAY)) / (30 * DAY)
            if fx.has("disk_fill", {"instance": node}):
                used = 0.91 + 0.06 * max(
                    (s.progress(t) for s in fx.scenarios if s.name == "disk_fill"), default=0
                )
            gauges[("node_filesystem_size_bytes", fs)] = NODE_DISK
            gauges[("node_filesystem_avail_bytes", fs)] = NODE_DISK * (1 - used)
            net = labels(*base, device="eth0")
            rates[("node_network_receive_bytes_total", net)] = 2.4e6 * load
            rates[("node_network_transmit_bytes_total", net)] = 3.1e6 * load


def _le(value: float) -> str:
    return repr(float(value))


class Counters:
    """Counter values, advanced by integrating the sampled rates over time."""

    def __init__(self, values: dict[Key, float] | None = None) -> None:
        self.values: dict[Key, float] = dict(values or {})

    def advance(self, sample: Sample, seconds: float) -> None:
        values = self.values
        fresh: dict[Key, float] = {}
        for key, rate in sample.rates.items():
            fresh[key] = values.get(key, 0.0) + rate * seconds
        # closed = opened - open now, never decreasing (a counter).
        app = labels(*APP)
        opened = fresh.get(("neo4j_bolt_connections_opened_total", app))
        if opened is not None:
            active = sample.gauges[("neo4j_bolt_connections_active", app)]
            closed_key = ("neo4j_bolt_connections_closed_total", app)
            previous = values.get(closed_key)
            if previous is None:
                # First sample: open enough to make the difference the active count.
                opened = fresh[("neo4j_bolt_connections_opened_total", app)] = max(opened, active)
            fresh[closed_key] = max(previous or 0.0, opened - active)
        # Series that vanished (a deleted pod) are dropped; they never come back.
        self.values = fresh
