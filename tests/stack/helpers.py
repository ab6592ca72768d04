"""Helpers of the stack's tests: ``python -m stack run`` with some of its processes on free
ports in a temporary VAR_DIR, process liveness, and waiting with a deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stack import environment, supervision
from tests import services
from tests.helpers import REPO, clean_env

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


@dataclass
class RunningStack:
    env: dict[str, str]
    runner: subprocess.Popen
    log: Path
    supervisor: supervision.Supervisor

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def port(self, name: str) -> int:
        return int(self.env[environment.PROCESSES[name][0]])

    def statuses(self) -> dict[str, supervision.ProcessStatus]:
        return self.supervisor.status()

    def pid(self, name: str) -> int | None:
        status = self.statuses().get(name)
        return status.pid if status and status.state == "RUNNING" else None


@contextlib.contextmanager
def running_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: list[str]
) -> Iterator[RunningStack]:
    """`python -m stack run NAMES` until its status table is printed; stopped afterwards."""
    var = tmp_path / "var"
    env = clean_env(VAR_DIR=str(var))
    for p in environment.PORTS:
        env[p.env] = str(services.free_port())
    monkeypatch.setattr(environment, "VAR_DIR", var)
    log = tmp_path / "run.log"
    with log.open("w") as out:
        # A new session stands in for the terminal: Ctrl-C signals its whole foreground group.
        runner = subprocess.Popen(
            [sys.executable, "-m", "stack", "run", *names],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = RunningStack(env, runner, log, supervision.Supervisor(supervision.config_path()))
    try:
        wait_for(
            lambda: "Stop everything with Ctrl-C" in stack.output() or runner.poll() is not None,
            what="the status table",
        )
        assert runner.poll() is None, stack.output()
        yield stack
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGTERM)
            runner.wait(DEADLINE)
