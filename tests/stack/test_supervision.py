"""The supervised local stack: a process that dies is started again and the restart is logged,
a process that keeps failing is retried with a growing back-off, and Ctrl-C or SIGTERM stops
every child. Runs `python -m stack run` with cheap real processes of the stack (Redis and
node_exporter) on free ports in a temporary VAR_DIR."""

from __future__ import annotations

import os
import re
import signal
import socket
from collections.abc import Iterator
from datetime import datetime

import pytest

from stack import environment, supervision
from stack.programs import programs
from tests import services
from tests.stack.helpers import DEADLINE, RunningStack, is_alive, running_stack, wait_for

pytestmark = pytest.mark.services

CHEAP = ["redis", "node_exporter"]


@pytest.fixture
def cheap_stack(tmp_path, monkeypatch) -> Iterator[RunningStack]:
    with running_stack(tmp_path, monkeypatch, CHEAP) as stack:
        yield stack


def test_it_prints_which_services_are_up(cheap_stack):
    table = cheap_stack.output().split("=" * 72)[1]
    for name in CHEAP:
        row = re.search(rf"^\s+{name}\s+(\S+)\s+(\d+)\s+(\d+) (\w+)$", table, re.MULTILINE)
        assert row, table
        assert row.group(1) == "RUNNING"
        assert int(row.group(3)) == cheap_stack.port(name)
        assert row.group(4) == "up"


def test_it_restarts_a_killed_process_and_logs_the_restart(cheap_stack):
    old_pid = cheap_stack.pid("node_exporter")
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    wait_for(
        lambda: (
            cheap_stack.pid("node_exporter") not in (None, old_pid)
            and services.tcp_open(cheap_stack.port("node_exporter"))
        ),
        what="node_exporter to run again",
    )
    new_pid = cheap_stack.pid("node_exporter")
    assert services.http_ok(f"http://127.0.0.1:{cheap_stack.port('node_exporter')}/metrics")
    exited = "exited: node_exporter (terminated by SIGKILL; not expected)"
    spawned = f"spawned: 'node_exporter' with pid {new_pid}"
    for log in (cheap_stack.output(), supervision.log_path("supervisord").read_text()):
        assert exited in log and spawned in log, log
    # The others were left alone.
    assert cheap_stack.statuses()["redis"].state == "RUNNING"


@pytest.mark.parametrize("how", ["ctrl-c to the terminal's group", "sigterm to the runner"])
def test_it_stops_every_child_and_leaves_nothing_on_the_ports(cheap_stack, how):
    statuses = cheap_stack.statuses()
    children = [statuses[name].pid for name in CHEAP]
    assert all(children), statuses
    supervisord = int(supervision.config_path().with_name("supervisord.pid").read_text())
    if how == "sigterm to the runner":
        cheap_stack.runner.send_signal(signal.SIGTERM)
    else:
        os.killpg(cheap_stack.runner.pid, signal.SIGINT)
    returncode = cheap_stack.runner.wait(DEADLINE)
    assert returncode == 0, cheap_stack.output()
    assert "Local stack stopped" in cheap_stack.output()
    wait_for(lambda: not any(is_alive(pid) for pid in [*children, supervisord]), what="exit")
    assert not any(services.tcp_open(cheap_stack.port(name)) for name in CHEAP)


def _spawn_times(log: str, name: str) -> list[datetime]:
    return [
        datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
        for match in re.finditer(rf"^(\S+ \S+) INFO spawned: '{name}'", log, re.MULTILINE)
    ]


def test_it_retries_a_failing_process_with_a_growing_back_off(tmp_path, monkeypatch):
    """node_exporter on a port someone else holds exits at once, again and again."""
    monkeypatch.setattr(environment, "VAR_DIR", tmp_path / "var")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        monkeypatch.setenv("NODE_EXPORTER_PORT", str(squatter.getsockname()[1]))
        env = environment.stack_environment()
        program = programs(env)["node_exporter"]
        supervisor = supervision.Supervisor(supervision.write_config([program]))
        supervisor.start(env)
        log = supervision.log_path("supervisord")
        try:
            wait_for(
                lambda: log.exists() and len(_spawn_times(log.read_text(), "node_exporter")) >= 3,
                what="three attempts",
            )
        finally:
            supervisor.stop()
            supervisor.wait(DEADLINE)
    text = log.read_text()
    first, second, third = _spawn_times(text, "node_exporter")[:3]
    # Supervisord waits 1 s, then 2 s, ... between attempts (at least; later under load).
    assert (second - first).total_seconds() >= 0.9
    assert (third - second).total_seconds() >= 1.9
    assert "exited: node_exporter (exit status 1; not expected)" in text
