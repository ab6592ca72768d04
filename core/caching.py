"""The shared cache as the panel uses it: to save work, never to hold what it cannot rebuild.
A cache that is down (Redis killed, restarting, unreachable) costs only the caching: a read
misses and a write is dropped, each logged, and the page answers as it would uncached."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
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


def claim(key: str, seconds: float) -> bool:
    """True for the one caller that claims ``key`` until it expires (an atomic add); with the
    cache down, every caller may go ahead (each then does the work itself)."""
    try:
        return bool(cache.add(key, 1, seconds))
    except FAILURES:
        log.warning("cache unavailable: %s claimed without it", key, exc_info=True)
        return True


def wait_for(key: str, seconds: float, step: float = 0.05) -> Any:
    """What another caller that claimed the work puts under ``key`` within ``seconds``, or
    None if it did not (the caller then does the work itself)."""
    deadline = time.monotonic() + seconds
    while True:
        value = get(key)
        if value is not None or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def shared(key: str, seconds: float, compute: Callable[[], Any], *, wait: float = 2.0) -> Any:
    """The value under ``key``, computed by one caller at a time: when many ask at once for a
    value not cached yet (a new half-minute of a dashboard everyone watches), one computes it
    and the others wait for its answer, up to ``wait`` seconds, instead of each asking
    Prometheus the same questions."""
    value = get(key)
    if value is not None:
        return value
    if not claim(f"{key}:claim", max(wait, 1.0)):
        value = wait_for(key, wait)
        if value is not None:
            return value
    value = compute()
    put(key, value, seconds)
    return value
