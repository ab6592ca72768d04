"""Replicas of one service, asked in a good order: the ones that answered lately first, in
their configured order; one that failed is asked after the others for a while, with why it
was skipped kept for the pages. Prometheus's HA pair and Alertmanager's peers both use it
(``integrations.prometheus``, ``integrations.alertmanager``).

The order is per process: it saves a detour, it is not state another process needs (each
finds a dead replica for itself, within one call).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

# A replica that failed is asked after the others for this long.
SKIP_SECONDS = 30.0


def split(text: str) -> list[str]:
    """Comma-separated base URLs, without their trailing slashes."""
    return [part.strip().rstrip("/") for part in text.split(",") if part.strip()]


class AskingOrder:
    """Which replicas failed lately, and why."""

    def __init__(self, skip_seconds: float = SKIP_SECONDS) -> None:
        self.skip_seconds = skip_seconds
        self._skipped: dict[str, tuple[float, str]] = {}  # replica → (asked last until, why)
        self._lock = threading.Lock()

    def order(self, replicas: Iterable[str]) -> list[str]:
        """Replicas that answered lately first, in the given order; skipped ones after."""
        replicas = list(replicas)
        skipped = {replica for replica, _ in self.down(replicas)}
        return [r for r in replicas if r not in skipped] + [r for r in replicas if r in skipped]

    def failed(self, replica: str, why: str) -> None:
        with self._lock:
            self._skipped[replica] = (time.monotonic() + self.skip_seconds, why)

    def answered(self, replica: str) -> None:
        with self._lock:
            self._skipped.pop(replica, None)

    def down(self, replicas: Iterable[str]) -> list[tuple[str, str]]:
        """The given replicas that failed lately, with why, in the given order."""
        now = time.monotonic()
        with self._lock:
            found = {r: self._skipped[r] for r in replicas if r in self._skipped}
        return [(r, why) for r, (until, why) in found.items() if until > now]

    def clear(self) -> None:
        with self._lock:
            self._skipped.clear()
