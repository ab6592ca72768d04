"""How fast each demo scenario pushes its playbook expression past the warning threshold, on a
running stack (`make run`). Starts every scenario at once (they touch different metrics), polls
Prometheus every 5 s for up to 3 minutes, prints the seconds each took, then ends them.

    .venv/bin/python bench/scenarios.py [--prometheus URL] [--workload URL]
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.parse
import urllib.request

# (scenario, labels, expression, comparison, warning threshold)
CHECKS = [
    (
        "latency_spike",
        {"tenant_tier": "enterprise"},
        "histogram_quantile(0.95, sum by (le)(rate(http_request_duration_seconds_bucket"
        '{tenant_tier="enterprise"}[5m])))',
        ">",
        0.2,
    ),
    (
        "error_burst",
        {"tenant_tier": "team"},
        'sum(rate(http_requests_total{tenant_tier="team",status=~"5.."}[5m])) / '
        'sum(rate(http_requests_total{tenant_tier="team"}[5m])) * 100',
        ">",
        1,
    ),
    (
        "throughput_drop",
        {"tenant_tier": "developer"},
        'sum(rate(http_requests_total{tenant_tier="developer"}[5m]))',
        "<",
        100 * 0.2,
    ),
    (
        "cpu_saturation",
        {"instance": "leanvibe-node-2"},
        '100 - avg(rate(node_cpu_seconds_total{instance="leanvibe-node-2",mode="idle"}[5m]))*100',
        ">",
        80,
    ),
    (
        "memory_leak",
        {},
        "max(container_memory_usage_bytes / container_spec_memory_limit_bytes * 100)",
        ">",
        80,
    ),
    (
        "disk_fill",
        {"instance": "leanvibe-node-3"},
        '(1 - node_filesystem_avail_bytes{instance="leanvibe-node-3"} / '
        'node_filesystem_size_bytes{instance="leanvibe-node-3"}) * 100',
        ">",
        85,
    ),
    (
        "neo4j_connection_surge",
        {},
        "(neo4j_bolt_connections_opened_total - neo4j_bolt_connections_closed_total) / "
        "neo4j_bolt_connections_max * 100",
        ">",
        80,
    ),
    (
        "neo4j_slow_queries",
        {},
        "histogram_quantile(0.95, sum by (le)(rate(neo4j_cypher_query_duration_seconds_bucket"
        "[5m])))",
        ">",
        0.5,
    ),
    (
        "cache_degraded",
        {},
        "sum(rate(redis_keyspace_hits_total[5m])) / (sum(rate(redis_keyspace_hits_total[5m])) + "
        "sum(rate(redis_keyspace_misses_total[5m]))) * 100",
        "<",
        85,
    ),
    (
        "redis_memory_pressure",
        {},
        "max(redis_memory_used_bytes / redis_memory_max_bytes * 100)",
        ">",
        80,
    ),
    (
        "tenant_drop",
        {},
        "(1 - sum(active_tenants_total) / sum(active_tenants_total offset 7d)) * 100",
        ">",
        10,
    ),
    (
        "mrr_drop",
        {},
        "(1 - sum(monthly_recurring_revenue_usd) / "
        "sum(monthly_recurring_revenue_usd offset 30d)) * 100",
        ">",
        5,
    ),
    ("signup_drop", {}, "sum(rate(tenant_signups_total[5m])) * 86400", "<", 1),
    ("backup_failed", {}, "min(leanvibe_backup_last_run_success)", "<", 1),
]


def query(prometheus: str, expr: str) -> float | None:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        result = json.load(response)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def post(url: str, body: dict | None, method: str = "POST") -> None:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090")
    parser.add_argument("--workload", default="http://127.0.0.1:9200")
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    for name, labels, *_ in CHECKS:
        post(f"{args.workload}/scenarios", {"name": name, "minutes": 10, "labels": labels})
    started = time.monotonic()
    crossed: dict[str, tuple[float, float]] = {}
    try:
        while len(crossed) < len(CHECKS) and time.monotonic() - started < args.timeout:
            for name, _, expr, op, threshold in CHECKS:
                if name in crossed:
                    continue
                value = query(args.prometheus, expr)
                if value is not None and (value > threshold if op == ">" else value < threshold):
                    crossed[name] = (time.monotonic() - started, value)
            time.sleep(5)
    finally:
        post(f"{args.workload}/scenarios", None, method="DELETE")
    for name, _, _, op, threshold in CHECKS:
        if name in crossed:
            seconds, value = crossed[name]
            print(
                f"{name:24} past warning ({op} {threshold:g}) after {seconds:4.0f} s: {value:.4g}"
            )
        else:
            print(f"{name:24} NOT past warning within {args.timeout:.0f} s")


if __name__ == "__main__":
    main()
