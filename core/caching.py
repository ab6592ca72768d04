"""The shared cache as the panel uses it: to save work, never to hold what it cannot rebuild.
A cache that is down (Redis killed, restarting, unreachable) costs only the caching: a read
misses and a write is dropped, each logged, and the page answers as it would uncached."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

FAILURES = (RedisError, OSError)


def get(key: str) -> Any:
    """The cached value, or None when there is none or the cache cannot be read."""
    try:
        return cache.get(key)
    except FAILURES:
        log.warning("cache unavailable: read of %s missed", key, exc_info=True)
        return None


def put(key: str, value: Any, seconds: float) -> None:
    """Cache ``value`` for ``seconds``; dropped (and logged) when the cache cannot be written."""
    try:
        cache.set(key, value, seconds)
    except FAILURES:
        log.warning("cache unavailable: %s not cached", key, exc_info=True)
