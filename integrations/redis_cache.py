"""The one module that runs Redis commands for runbooks: PING, DBSIZE and FLUSHDB on the
application cache (``RUNBOOK_REDIS_URL``)."""

from __future__ import annotations

import redis
from django.conf import settings

TIMEOUT = 5.0


class CacheError(Exception):
    """Redis could not be reached or refused the command."""


def _client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.RUNBOOK_REDIS_URL, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
    )


def database() -> str:
    """The database number the actions act on, as the FLUSHDB confirmation must spell it."""
    return str(_client().connection_pool.connection_kwargs.get("db", 0))


def where() -> str:
    kwargs = _client().connection_pool.connection_kwargs
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')} database {database()}"


def ping() -> float:
    """Round trip in seconds."""
    import time

    started = time.perf_counter()
    try:
        _client().ping()
    except redis.RedisError as exc:
        raise CacheError(f"Redis at {where()}: {exc}") from exc
    return time.perf_counter() - started


def dbsize() -> int:
    try:
        return int(_client().dbsize())  # type: ignore[arg-type]
    except redis.RedisError as exc:
        raise CacheError(f"Redis at {where()}: {exc}") from exc


def flushdb() -> int:
    """Empty the cache database; returns how many keys it held."""
    client = _client()
    try:
        keys = int(client.dbsize())  # type: ignore[arg-type]
        client.flushdb()
    except redis.RedisError as exc:
        raise CacheError(f"Redis at {where()}: {exc}") from exc
    return keys
