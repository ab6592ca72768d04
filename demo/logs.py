"""Pod logs of the demo cluster: ordinary traffic, plus the lines the playbook's grep patterns
look for while the matching scenario runs (errors, ``500 Internal Server Error``,
database/timeout/connection, ``slow_request``, memory/gc/oom, Neo4j ``Query slow``,
transaction failures)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

from demo.scenarios import ScenarioBook

LINES_PER_MINUTE = 30
DEFAULT_LINES = 300

NORMAL = {
    "backend": [
        "INFO request method=GET path=/api/v1/projects status=200 duration_ms={ms}"
        " tenant_tier={tier}",
        "INFO request method=POST path=/api/v1/agents status=200 duration_ms={ms}"
        " tenant_tier={tier}",
        "INFO request method=GET path=/api/v1/search status=200 duration_ms={ms}"
        " tenant_tier={tier}",
        "INFO cache hit ratio=0.94 keys=2000",
        "INFO neo4j pool in_use={pool} size=20",
    ],
    "neo4j": [
        "INFO  [bolt] Accepted connection from 10.244.1.{n}",
        "INFO  Checkpoint triggered by scheduler, took {ms}ms",
        "INFO  Query completed in {ms} ms",
    ],
    "redis": [
        "* DB saved on disk",
        "* 10 changes in 300 seconds. Saving...",
        "* Background saving terminated with success",
    ],
}

INCIDENT = {
    ("backend", "error_burst"): [
        'ERROR request method=POST path=/api/v1/projects status=500 "500 Internal Server Error"',
        "ERROR database connection failed: timeout after 5000ms",
        "ERROR upstream error: connection reset by peer",
    ],
    ("backend", "latency_spike"): [
        "WARNING slow_request path=/api/v1/search duration_ms={slow} tenant_tier={tier}",
        "WARNING slow_request path=/api/v1/projects duration_ms={slow} tenant_tier={tier}",
    ],
    ("backend", "memory_leak"): [
        "WARNING memory usage high rss_mb={rss} limit_mb=1024",
        "WARNING gc pause {ms}ms gen2 collections={n}",
        "ERROR possible memory leak: heap grew 48MB in 60s",
    ],
    ("backend", "neo4j_connection_surge"): [
        "ERROR neo4j connection pool exhausted: connection acquisition timeout",
        "ERROR database connection failed: timeout waiting for connection",
    ],
    ("backend", "cache_degraded"): ["WARNING cache miss ratio high ratio=0.45"],
    ("neo4j", "neo4j_slow_queries"): [
        "WARN  Query slow: {slow} ms: MATCH (t:Tenant)-[:OWNS]->(p:Project) RETURN p",
        "INFO  Query took {slow}ms: MATCH (a:Agent {{tenant: $tenant}}) RETURN a",
    ],
    ("neo4j", "neo4j_connection_surge"): [
        "WARN  [bolt] connection timeout: too many open connections",
        "ERROR Transaction failed: connection terminated by server",
        "ERROR transaction rollback: Transaction failed due to connection timeout",
    ],
    ("redis", "redis_memory_pressure"): [
        "# WARNING: used_memory is close to maxmemory, evicting volatile keys",
    ],
}


def _pick(seed: str, options: list[str]) -> str:
    return options[zlib.crc32(f"pick:{seed}".encode()) % len(options)]


def render(
    pod: str,
    container: str,
    created: str,
    scenarios: ScenarioBook,
    now: float,
    tail_lines: int | None,
) -> str:
    """The last lines of a container's log up to ``now``; lines from while a scenario ran
    carry its patterns (one line in three)."""
    started = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    count = DEFAULT_LINES if tail_lines is None or tail_lines < 0 else tail_lines
    step = 60 / LINES_PER_MINUTE
    first = max(started, now - count * step)
    active = [s for s in scenarios.active(now) if not s.labels.get("pod") or s.labels["pod"] == pod]
    kind = "backend" if container == "backend" else container
    lines: list[str] = []
    t = first
    while t <= now and len(lines) < count:
        seed = f"{pod}:{int(t)}"
        incidents = [s for s in active if (kind, s.name) in INCIDENT and s.started_at <= t]
        if incidents and zlib.crc32(seed.encode()) % 3 == 0:
            template = _pick(seed, INCIDENT[(kind, incidents[0].name)])
            tier = incidents[0].labels.get("tenant_tier", "enterprise")
        else:
            template = _pick(seed, NORMAL.get(kind, NORMAL["backend"]))
            tier = _pick(seed + "t", ["enterprise", "team", "developer"])
        n = zlib.crc32(seed.encode()) % 97
        text = template.format(
            ms=20 + n, slow=1200 + 17 * n, tier=tier, rss=880 + n, n=n, pool=8 + n % 9
        )
        stamp = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines.append(f"{stamp} {text}")
        t += step
    return "\n".join(lines) + ("\n" if lines else "")
