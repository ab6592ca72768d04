"""The panel's honest behaviour on the supervised stack when Prometheus is killed: the next
evaluation turns the checks it feeds to ``error`` and the dashboard's tiles with them, every
page's banner says Prometheus is not answering, and once supervisord has started Prometheus
again the next evaluation brings the checks back to what they were, and the banner goes, with
nobody doing anything.

Runs `python -m stack run prometheus node_exporter` (real processes on free ports, a temporary
VAR_DIR); the panel is this test process, pointed at that Prometheus. Each round of the loop
stands in for one beat of the scheduler: a heartbeat and an evaluation cycle (the schedule
itself is tested with Celery beat elsewhere)."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.management import call_command

from alerts.models import Check
from alerts.tasks import run_cycle
from core.choices import State
from health.checks import record_heartbeat
from tests.stack.helpers import RunningStack, running_stack, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BOARD = "/d/kubernetes-overview"
# node_exporter's own memory, per instance: the one metric of the playbook this stack feeds.
METRIC = "node_memory"
BANNER = "is not answering"
# Prometheus scrapes every 15 s: the first sample may take that long, and a restart after a
# kill replays its write-ahead log first.
SLOW = 120


@pytest.fixture
def prometheus_stack(tmp_path, monkeypatch, settings) -> Iterator[RunningStack]:
    with running_stack(tmp_path, monkeypatch, ["prometheus", "node_exporter"]) as stack:
        settings.PROMETHEUS_URL = f"http://127.0.0.1:{stack.port('prometheus')}"
        yield stack


def beat() -> list[Check]:
    """One round of the schedule: the beat's heartbeat and one evaluation; the metric's checks."""
    record_heartbeat()
    run_cycle()
    return list(Check.objects.filter(threshold__metric__key=METRIC))


def tile_states(client) -> set[str]:
    page = client.get(BOARD).content.decode()
    return {
        state
        for signature, state in re.findall(
            r'data-testid="check" data-signature="([^"]+)" data-state="([^"]+)"', page
        )
        if signature.startswith(METRIC)
    }


def banner(client) -> str:
    cache.clear()  # the Prometheus probe is cached for a few seconds between pages
    page = client.get("/").content.decode()
    found = re.search(r'data-testid="health-banner">(.*?)</div>', page, re.DOTALL)
    return found.group(1) if found else ""


def test_a_killed_prometheus_turns_tiles_to_error_and_back_by_itself(
    prometheus_stack, sre_client, settings
):
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    before: dict[str, str] = {}

    def evaluated() -> bool:
        checks = beat()
        before.update({check.signature: check.state for check in checks})
        return bool(checks) and all(c.state not in (State.ERROR, State.NO_DATA) for c in checks)

    wait_for(evaluated, SLOW, "node memory evaluated from the stack's Prometheus")
    assert BANNER not in banner(sre_client)
    assert tile_states(sre_client) and State.ERROR not in tile_states(sre_client)

    old_pid = prometheus_stack.pid("prometheus")
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)

    # An evaluation refused at once runs long before a restarted Prometheus has replayed its
    # write-ahead log and listens again.
    def errored() -> bool:
        checks = beat()
        return bool(checks) and all(c.state == State.ERROR for c in checks)

    wait_for(errored, SLOW, "the checks to turn error")
    assert tile_states(sre_client) == {State.ERROR}
    assert f"Prometheus at {settings.PROMETHEUS_URL} {BANNER}" in banner(sre_client)
    wait_for(
        lambda: prometheus_stack.pid("prometheus") not in (None, old_pid),
        SLOW,
        "supervisord to start Prometheus again",
    )
    assert "exited: prometheus (terminated by SIGKILL; not expected)" in prometheus_stack.output()

    def recovered() -> bool:
        checks = beat()
        return bool(checks) and {c.signature: c.state for c in checks} == before

    wait_for(recovered, SLOW, "the checks to return to their states before the kill")
    assert State.ERROR not in tile_states(sre_client)
    wait_for(lambda: BANNER not in banner(sre_client), SLOW, "the banner to go")
