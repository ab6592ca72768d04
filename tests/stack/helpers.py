"""Small helpers of the stack's tests: process liveness and waiting with a deadline."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

# Generous: a loaded 2-core machine starts Python, supervisord and the children slowly.
DEADLINE = 60


def wait_for(condition: Callable[[], bool], timeout: float = DEADLINE, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.3)


def is_alive(pid: int) -> bool:
    """True while the process runs. A zombie has exited already; only its (new) parent has not
    reaped it yet, so it does not count."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
