"""The one module that talks to Neo4j, through the official ``neo4j`` driver, and only when
``NEO4J_URL`` is set: without it the runbook page says so and the actions refuse to run."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

Emit = Callable[[str], None]


class GraphError(Exception):
    """Neo4j is not configured, not reachable, or refused the query."""


def is_configured() -> bool:
    return bool(settings.NEO4J_URL)


def run(query: str, emit: Emit) -> None:
    if not is_configured():
        raise GraphError("Neo4j is not configured: set NEO4J_URL (and NEO4J_PASSWORD)")
    try:
        import neo4j
    except ImportError as exc:
        raise GraphError("the neo4j driver is not installed (pip install neo4j)") from exc
    try:
        with neo4j.GraphDatabase.driver(
            settings.NEO4J_URL,
            auth=(settings.NEO4J_USER, settings.NEO4J_PASSWORD),
            connection_timeout=10,
            # The driver retries an unreachable server for 30 s by default; a diagnostic at
            # 3 a.m. should say "unreachable" at once, and the SRE can run it again.
            max_transaction_retry_time=2.0,
        ) as driver:
            records, _summary, keys = driver.execute_query(query)
    except neo4j.exceptions.Neo4jError as exc:
        raise GraphError(f"Neo4j refused the query: {exc}") from exc
    except (neo4j.exceptions.DriverError, OSError) as exc:
        raise GraphError(f"Neo4j unreachable at {settings.NEO4J_URL}: {exc}") from exc
    except ValueError as exc:  # the driver's word for an address it cannot even parse
        raise GraphError(f"NEO4J_URL={settings.NEO4J_URL!r} is not usable: {exc}") from exc
    emit(" | ".join(keys))
    for record in records:
        emit(" | ".join(str(value) for value in record.values()))
    emit(f"{len(records)} row(s)")
