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
        ports = environment.process_ports(environment.replica_count(self.env))
        return int(self.env[ports[name][0]])

    def statuses(self) -> dict[str, supervision.ProcessStatus]:
        return self.supervisor.status()

    def pid(self, name: str) -> int | None:
        status = self.statuses().get(name)
        return status.pid if status and status.state == "RUNNING" else None


def port_env() -> dict[str, str]:
    """Every port variable of the stack, each on its own free port (the stack refuses two
    variables naming one port)."""
    ports = services.free_ports(len(environment.PORTS))
    return {p.env: str(port) for p, port in zip(environment.PORTS, ports, strict=True)}


@contextlib.contextmanager
def running_stack(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    names: list[str],
    *,
    extra_env: dict[str, str] | None = None,
    setup: bool = False,
    timeout: float = DEADLINE,
) -> Iterator[RunningStack]:
    """`python -m stack run NAMES` until its status table is printed; stopped afterwards.
    ``extra_env`` is added to its environment (``STACK_REPLICAS``); ``setup`` runs
    `python -m stack setup` first (database, demo users), for a stack that serves the panel."""
    var = tmp_path / "var"
    env = clean_env(VAR_DIR=str(var), **(extra_env or {}))
    env.update(port_env())
    monkeypatch.setattr(environment, "VAR_DIR", var)
    if setup:
        done = subprocess.run(
            [sys.executable, "-m", "stack", "setup"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
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
            timeout,
            what="the status table",
        )
        assert runner.poll() is None, stack.output()
        yield stack
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGTERM)
            runner.wait(DEADLINE)
