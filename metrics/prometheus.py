"""The one module that talks to Prometheus (or any Prometheus-compatible query API).

Everything else asks this module; tests run it against real Prometheus processes and patch
only here when a failure must be forced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from django.conf import settings


@dataclass(frozen=True)
class Reachability:
    """Whether the query API answered a trivial query, how fast, and why not if it did not."""

    is_reachable: bool
    latency_ms: float | None
    error: str | None
    url: str


def check_reachable(url: str | None = None, timeout: float | None = None) -> Reachability:
    """Run ``vector(1)``: it works on every Prometheus-compatible API (VictoriaMetrics has no
    ``/-/ready``) and proves the query path, not just the listener."""
    base = (url or settings.PROMETHEUS_URL).rstrip("/")
    started = time.perf_counter()
    try:
        response = requests.get(
            f"{base}/api/v1/query",
            params={"query": "vector(1)"},
            timeout=timeout or settings.PROMETHEUS_TIMEOUT,
        )
    except requests.Timeout:
        return Reachability(False, None, "timed out", base)
    except requests.ConnectionError as exc:
        return Reachability(False, None, f"unreachable: {_short(exc)}", base)
    except requests.RequestException as exc:  # invalid URL, too many redirects, ...
        return Reachability(False, None, f"request failed: {_short(exc)}", base)
    latency = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return Reachability(False, latency, f"HTTP {response.status_code}", base)
    try:
        body = response.json()
    except ValueError:
        return Reachability(False, latency, "answer is not JSON", base)
    status = body.get("status") if isinstance(body, dict) else None
    if status != "success":
        return Reachability(False, latency, f"query status {status!r}", base)
    return Reachability(True, latency, None, base)


def _short(exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    return text[:200]
