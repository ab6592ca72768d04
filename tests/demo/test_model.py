"""The simulated system: inside every playbook threshold at baseline, past the warning
threshold the moment a scenario starts, relieved by the runbook's remedies."""

from __future__ import annotations

import math

import pytest

from demo.model import (
    BASELINE_CLUSTER,
    DAY,
    NEO4J_MAX_CONNECTIONS,
    ClusterView,
    Counters,
    Sample,
    Simulation,
)
from demo.scenarios import Scenario

NOW = 1_795_700_000.0  # a Thursday afternoon (UTC), the busiest part of the week
SIM = Simulation()
P95_WARNING = {"enterprise": 0.2, "team": 0.5, "developer": 1.0}


def quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus's histogram_quantile: linear interpolation inside the bucket."""
    buckets = sorted(buckets)
    total = buckets[-1][1]
    rank = q * total
    previous_le, previous_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return previous_le
            return previous_le + (le - previous_le) * (rank - previous_count) / (
                count - previous_count
            )
        previous_le, previous_count = le, count
    return math.nan


def p95(sample: Sample, metric: str, **match: str) -> float:
    by_le: dict[float, float] = {}
    for (name, labels), rate in sample.rates.items():
        values = dict(labels)
        if name == f"{metric}_bucket" and all(values.get(k) == v for k, v in match.items()):
            le = float(values["le"])
            by_le[le] = by_le.get(le, 0.0) + rate
    return quantile(0.95, list(by_le.items()))


def total(sample: Sample, metric: str, **match: str) -> float:
    source = sample.rates if any(n == metric for n, _ in sample.rates) else sample.gauges
    return sum(
        v
        for (n, labels), v in source.items()
        if n == metric and all(dict(labels).get(k) == val for k, val in match.items())
    )


def error_percent(sample: Sample, **match: str) -> float:
    return (
        100
        * total(sample, "http_requests_total", status="500", **match)
        / total(sample, "http_requests_total", **match)
    )


def by_pod(sample: Sample, metric: str) -> dict[str, float]:
    source = sample.rates if metric.endswith("_total") else sample.gauges
    return {dict(labels)["pod"]: v for (n, labels), v in source.items() if n == metric}


def scenario(name: str, *, cluster: ClusterView = BASELINE_CLUSTER, **labels: str) -> Scenario:
    return Scenario(1, name, labels, NOW - 60, NOW + 600, cluster.backend_pods)


def connections_percent(sample: Sample) -> float:
    return 100 * total(sample, "neo4j_bolt_connections_active") / NEO4J_MAX_CONNECTIONS


@pytest.mark.parametrize("hour", range(0, 7 * 24, 5))
def test_it_stays_inside_every_threshold_at_baseline(hour):
    sample = SIM.sample(NOW + hour * 3600, [], BASELINE_CLUSTER)
    for tier, warning in P95_WARNING.items():
        assert p95(sample, "http_request_duration_seconds", tenant_tier=tier) < 0.8 * warning
    assert error_percent(sample) < 0.5
    assert total(sample, "http_requests_total") > 150  # "well above" 100 RPS
    assert max(by_pod(sample, "container_cpu_usage_seconds_total").values()) < 0.7
    memory = by_pod(sample, "container_memory_usage_bytes")
    limits = by_pod(sample, "container_spec_memory_limit_bytes")
    assert max(memory[p] / limits[p] for p in memory) < 0.75
    assert connections_percent(sample) < 60
    assert p95(sample, "neo4j_cypher_query_duration_seconds") < 0.3
    node_idle = [
        v
        for (n, labels), v in sample.rates.items()
        if n == "node_cpu_seconds_total" and dict(labels)["mode"] == "idle"
    ]
    assert min(node_idle) > 0.3
    avail = total(sample, "node_filesystem_avail_bytes")
    size = total(sample, "node_filesystem_size_bytes")
    assert 1 - avail / size < 0.7
    assert total(sample, "leanvibe_backup_last_run_success") == 1


def test_it_has_each_tier_with_its_own_latency_profile():
    sample = SIM.sample(NOW, [], BASELINE_CLUSTER)
    values = [p95(sample, "http_request_duration_seconds", tenant_tier=t) for t in P95_WARNING]
    assert values == sorted(values)


def test_it_lets_tenants_and_revenue_grow_slowly():
    week_ago = SIM.sample(NOW - 7 * DAY, [], BASELINE_CLUSTER)
    month_ago = SIM.sample(NOW - 30 * DAY, [], BASELINE_CLUSTER)
    now = SIM.sample(NOW, [], BASELINE_CLUSTER)
    growth = total(now, "active_tenants_total") / total(week_ago, "active_tenants_total")
    assert 1.0 < growth < 1.02
    mrr = total(now, "monthly_recurring_revenue_usd") / total(
        month_ago, "monthly_recurring_revenue_usd"
    )
    assert 1.01 < mrr < 1.05


def test_it_pushes_enterprise_latency_past_warning_only_for_that_tier():
    sample = SIM.sample(
        NOW, [scenario("latency_spike", tenant_tier="enterprise")], BASELINE_CLUSTER
    )
    assert p95(sample, "http_request_duration_seconds", tenant_tier="enterprise") > 0.2
    assert p95(sample, "http_request_duration_seconds", tenant_tier="team") < 0.4


def test_it_relieves_the_latency_spike_when_the_backend_scales_to_six():
    six = ClusterView(
        tuple(f"leanvibe-backend-x-{i}" for i in range(6)),
        BASELINE_CLUSTER.redis_pods,
        BASELINE_CLUSTER.neo4j_pods,
        20,
    )
    sample = SIM.sample(NOW, [scenario("latency_spike", tenant_tier="enterprise")], six)
    assert p95(sample, "http_request_duration_seconds", tenant_tier="enterprise") < 0.2


def test_it_bursts_errors_past_critical():
    sample = SIM.sample(NOW, [scenario("error_burst")], BASELINE_CLUSTER)
    assert error_percent(sample) > 5


def test_it_drops_throughput_below_the_warning_floor():
    sample = SIM.sample(NOW, [scenario("throughput_drop")], BASELINE_CLUSTER)
    assert total(sample, "http_requests_total") < 100


def test_it_saturates_one_pod_and_one_node_when_scoped():
    pod = BASELINE_CLUSTER.backend_pods[0]
    sample = SIM.sample(NOW, [scenario("cpu_saturation", pod=pod)], BASELINE_CLUSTER)
    cpu = by_pod(sample, "container_cpu_usage_seconds_total")
    assert cpu[pod] > 0.95
    assert all(v < 0.8 for p, v in cpu.items() if p != pod)
    assert max(node_busy(sample).values()) < 0.8
    node = SIM.sample(
        NOW, [scenario("cpu_saturation", instance="leanvibe-node-2")], BASELINE_CLUSTER
    )
    assert node_busy(node)["leanvibe-node-2"] > 0.95
    assert node_busy(node)["leanvibe-node-1"] < 0.8
    assert max(by_pod(node, "container_cpu_usage_seconds_total").values()) < 0.8


def node_busy(sample: Sample) -> dict[str, float]:
    idle: dict[str, list[float]] = {}
    for (name, labels), rate in sample.rates.items():
        values = dict(labels)
        if name == "node_cpu_seconds_total" and values["mode"] == "idle":
            idle.setdefault(values["instance"], []).append(rate)
    return {node: 1 - sum(rates) / len(rates) for node, rates in idle.items()}


def test_it_leaks_memory_only_in_the_pods_that_existed_when_it_started():
    leak = scenario("memory_leak")
    sample = SIM.sample(NOW, [leak], BASELINE_CLUSTER)
    memory = by_pod(sample, "container_memory_usage_bytes")
    limits = by_pod(sample, "container_spec_memory_limit_bytes")
    assert all(memory[p] / limits[p] > 0.8 for p in BASELINE_CLUSTER.backend_pods)
    restarted = ClusterView(
        ("leanvibe-backend-new-1", "leanvibe-backend-new-2", "leanvibe-backend-new-3"),
        BASELINE_CLUSTER.redis_pods,
        BASELINE_CLUSTER.neo4j_pods,
        20,
    )
    after = SIM.sample(NOW, [leak], restarted)
    memory = by_pod(after, "container_memory_usage_bytes")
    assert all(
        memory[p] / limits[BASELINE_CLUSTER.backend_pods[0]] < 0.75 for p in restarted.backend_pods
    )


def test_it_fills_node_disks_past_warning():
    sample = SIM.sample(NOW, [scenario("disk_fill")], BASELINE_CLUSTER)
    assert (
        1
        - total(sample, "node_filesystem_avail_bytes") / total(sample, "node_filesystem_size_bytes")
        > 0.9
    )


def test_it_surges_neo4j_connections_and_a_larger_pool_relieves_it():
    surge = [scenario("neo4j_connection_surge")]
    assert connections_percent(SIM.sample(NOW, surge, BASELINE_CLUSTER)) > 95
    bigger_pool = ClusterView(
        BASELINE_CLUSTER.backend_pods, BASELINE_CLUSTER.redis_pods, BASELINE_CLUSTER.neo4j_pods, 40
    )
    assert connections_percent(SIM.sample(NOW, surge, bigger_pool)) < 80


def test_it_slows_neo4j_queries_past_warning():
    sample = SIM.sample(NOW, [scenario("neo4j_slow_queries")], BASELINE_CLUSTER)
    assert p95(sample, "neo4j_cypher_query_duration_seconds") > 0.5


def test_it_drops_tenants_more_than_ten_percent_below_last_week():
    last_week = total(SIM.sample(NOW - 7 * DAY, [], BASELINE_CLUSTER), "active_tenants_total")
    now = total(
        SIM.sample(NOW, [scenario("tenant_drop")], BASELINE_CLUSTER), "active_tenants_total"
    )
    assert now < 0.9 * last_week


def test_it_drops_mrr_more_than_five_percent_below_last_month():
    last_month = total(
        SIM.sample(NOW - 30 * DAY, [], BASELINE_CLUSTER), "monthly_recurring_revenue_usd"
    )
    now = total(
        SIM.sample(NOW, [scenario("mrr_drop")], BASELINE_CLUSTER), "monthly_recurring_revenue_usd"
    )
    assert now < 0.95 * last_month


def test_it_stops_signups_for_the_scoped_tier():
    sample = SIM.sample(NOW, [scenario("signup_drop", tenant_tier="team")], BASELINE_CLUSTER)
    assert total(sample, "tenant_signups_total", tenant_tier="team") == 0
    assert total(sample, "tenant_signups_total", tenant_tier="developer") > 0


def test_it_fails_the_backup_and_ages_the_last_good_one_past_a_day():
    sample = SIM.sample(NOW, [scenario("backup_failed")], BASELINE_CLUSTER)
    assert total(sample, "leanvibe_backup_last_run_success") == 0
    assert NOW - total(sample, "leanvibe_backup_last_success_timestamp_seconds") > DAY


def test_it_keeps_counters_monotonic_and_open_connections_consistent():
    counters = Counters()
    previous: dict = {}
    for minute in range(120):
        surge = [scenario("neo4j_connection_surge")] if 30 <= minute < 60 else []
        sample = SIM.sample(NOW + minute * 60, surge, BASELINE_CLUSTER)
        counters.advance(sample, 60)
        for key, value in counters.values.items():
            assert value >= previous.get(key, 0.0), key
        opened = total_counter(counters, "neo4j_bolt_connections_opened_total")
        closed = total_counter(counters, "neo4j_bolt_connections_closed_total")
        assert opened - closed == pytest.approx(total(sample, "neo4j_bolt_connections_active"))
        previous = dict(counters.values)


def total_counter(counters: Counters, metric: str) -> float:
    return sum(v for (n, _), v in counters.values.items() if n == metric)
