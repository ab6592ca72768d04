"""A real Celery worker process on the ``runbooks`` queue, a real Redis broker: a worker killed
with SIGKILL in the middle of a long action leaves the run ``lost`` once the sweeper has seen
its heartbeat stop, and the broker's redelivery of the unacknowledged message (``acks_late``)
does not run the action a second time."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
import time_machine
from django.conf import settings
from django.db import connections
from django.utils import timezone

from runbooks import actions
from runbooks.choices import RunStatus
from runbooks.models import Action, ActionRun
from runbooks.tasks import sweep_runs
from tests.conftest import celery_broker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parent.parent.parent
BROKER_DB = 5  # the session's Redis: db 0 is test_celery's broker, db 2 the runbook cache

# The worker as `celery -A controlpanel worker -Q runbooks --pool solo` runs it, with the
# broker's transport options from the first argument: Redis gives an unacknowledged message
# to another consumer only after its visibility timeout (an hour by default).
WORKER = """
import json, sys
from controlpanel.celery import app
app.conf.broker_transport_options = json.loads(sys.argv[1])
app.worker_main(["worker", "-Q", "runbooks", "--pool", "solo", "-n", sys.argv[2],
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"])
"""


def wait_for(what: str, check: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def shared_database(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    """A ``DATABASE_URL`` the worker process reaches, with this test's connection on it.
    PostgreSQL's test database already is one; SQLite's is in memory, so it is copied (schema
    and all) into a file, and the test talks to the file until it ends."""
    original = connections["default"]
    database = original.settings_dict
    if database["ENGINE"] == "django.db.backends.postgresql":
        user = database["USER"] or ""
        auth = f"{user}:{database['PASSWORD']}@" if database["PASSWORD"] else f"{user}@"
        yield f"postgres://{auth}{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"
        return
    path = tmp_path / "db.sqlite3"
    original.ensure_connection()
    with sqlite3.connect(path) as copy:
        original.connection.backup(copy)
    copy.close()
    on_file = original.__class__({**database, "NAME": str(path)}, "default")
    connections["default"] = on_file
    try:
        yield f"sqlite:///{path}"
    finally:
        on_file.close()
        connections["default"] = original


@pytest.fixture
def broker(redis_server) -> Iterator[str]:
    """This process publishes to a Redis database of its own (the pools reset, so that an
    earlier test's connection to another broker is not reused)."""
    url = f"{redis_server.url.rsplit('/', 1)[0]}/{BROKER_DB}"
    redis.Redis.from_url(url).flushdb()

    with celery_broker(url):
        yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def start_worker(shared_database: str, broker: str, tmp_path: Path):
    """Start a worker process: ``start_worker(name, visibility_timeout)`` → (process, log)."""
    processes: list[subprocess.Popen] = []

    def start(name: str, visibility_timeout: int = 3600) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"{name}.log"
        options = {
            "visibility_timeout": visibility_timeout,
            # Look for messages past their visibility timeout every second, on every look.
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        }
        env = {
            **os.environ,
            "DATABASE_URL": shared_database,
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": broker,
            "PYTHONUNBUFFERED": "1",
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER, json.dumps(options), f"{name}@%h"],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        wait_for(f"{name} to be ready", lambda: "ready." in log.read_text(errors="replace"), 20)
        return process, log

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture
def slow_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that answers only when the test ends: (URL, the paths it was asked)."""
    seen: list[str] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            release.wait(30)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    release.set()
    server.shutdown()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_it_leaves_a_run_lost_when_its_worker_is_killed_and_never_runs_it_again(
    shared_database, start_worker, slow_server, broker, sre, playbook, monkeypatch
):
    url, seen = slow_server
    monkeypatch.setenv("RUNBOOK_API_URL", url)  # the worker process's "api" target
    probe = Action.objects.filter(step__runbook__name="LeanVibeHighResponseTime", kind="http_probe")
    first, first_log = start_worker("first")

    run = actions.request_run(
        probe.first(), {"target": "api", "path": "/health"}, actor=sre
    )  # queued
    wait_for("the run to start", lambda: ActionRun.objects.get(pk=run.pk).status == "running")
    wait_for("the probe's request", lambda: seen)
    queue = redis.Redis.from_url(broker)
    assert queue.hlen("unacked") == 1  # acks_late: held, not yet acknowledged

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.RUNBOOK_LOST_AFTER + 5)):
        assert sweep_runs() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.LOST
    assert run.worker.startswith("first@") and f"{run.worker} stopped answering" in run.error
    before = {field: getattr(run, field) for field in ("output", "started_at", "finished_at")}

    # A new worker finds the message unacknowledged past its visibility timeout, takes it
    # again, and the claim (pending → running) finds nothing to claim.
    _, log = start_worker("second", visibility_timeout=1)
    # The same message (by its task id) received again, and done with at once.
    task_id = re.search(r"execute_run\[([0-9a-f-]+)\] received", first_log.read_text())
    assert task_id is not None
    done = f"Task runbooks.tasks.execute_run[{task_id[1]}] succeeded"
    wait_for("the redelivered message to be handled", lambda: done in log.read_text())
    assert queue.hlen("unacked") == 0 and queue.llen("runbooks") == 0
    run.refresh_from_db()
    assert run.status == RunStatus.LOST
    assert {field: getattr(run, field) for field in before} == before
    assert run.worker.startswith("first@")
    assert seen == ["/health"]
