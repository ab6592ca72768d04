"""Two beats and two workers, as two hosts would run them, for ten evaluation cycles: every
state change is written once and every message sent once (issue 15, item 7).

Real processes: ``celery beat`` twice and ``celery worker --concurrency 1`` twice, on this
test's own Redis, against this test's PostgreSQL database, evaluating a gauge whose 40 series
all cross the critical level and back every ten seconds (a real Prometheus scrapes it every
second). A cycle over 40 series is split into four shards (EVALUATION_SHARD_SERIES=10), so
the exactly-once claim and the shards' disjoint checks are both under test. A doubled cycle
would show as a check changing twice from the same state (ok -> critical, ok -> critical),
a doubled message as two deliveries of one change."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
import yaml
from django.conf import settings
from django.utils import timezone

from alerts.models import Alert, Check, StateChange, Threshold
from alerts.notify import should_notify
from alerts.tasks import EVALUATION_TASK
from health.models import TaskSlot
from metrics.models import Metric
from notifications.choices import ChannelKind
from notifications.models import Notification, NotificationChannel
from tests import services

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        # the test database of a SQLite run lives in this process's memory, out of reach of
        # the beats and workers; on PostgreSQL (CI runs it) they share it
        reason="the processes need a database they can share (PostgreSQL)",
    ),
]

SERIES = 40
CYCLES = 10
INTERVAL = 5  # EVALUATION_INTERVAL's minimum


class Flipping(ThreadingHTTPServer):
    """``flip_value{series="07"}``: 0 or 100, every series turning every ten seconds."""


class _FlipHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        high = int(time.time() // 10) % 2
        lines = [f'flip_value{{series="{n:02d}"}} {100 * high}' for n in range(SERIES)]
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Inbox(ThreadingHTTPServer):
    """A Slack-compatible webhook: counts the messages it receives."""

    received: list[str]


class _InboxHandler(BaseHTTPRequestHandler):
    server: Inbox

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append(body["text"])
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def serve(server: ThreadingHTTPServer) -> ThreadingHTTPServer:
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def prometheus(tmp_path) -> Iterator[services.Service]:
    exporter = serve(Flipping(("127.0.0.1", 0), _FlipHandler))
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "flip",
                "static_configs": [{"targets": [f"127.0.0.1:{exporter.server_address[1]}"]}],
            }
        ],
    }
    service = services.prometheus(tmp_path, yaml.safe_dump(config)).start()
    yield service
    service.stop()
    exporter.shutdown()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    server = Inbox(("127.0.0.1", 0), _InboxHandler)
    server.received = []
    yield serve(server)  # type: ignore[misc]
    server.shutdown()


def database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    return (
        f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


def celery(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "controlpanel", *args, "--loglevel", "INFO"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def deserving() -> list[StateChange]:
    """The changes the on-call channel is sent (it takes every category and severity)."""
    return [c for c in StateChange.objects.all() if should_notify(c.from_state, c.to_state)]


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds:g} s"
        time.sleep(0.1)


def test_two_beats_and_two_workers_change_each_state_and_send_each_message_once(
    prometheus, redis_server, inbox, tmp_path
):
    metric = Metric.objects.create(
        key="flip",
        name="Flipping gauge",
        category="infrastructure",
        unit="percent",
        query="flip_value",
        group_by=["series"],
        description="a gauge that crosses its levels every ten seconds",
        impact="none",
    )
    alert = Alert.objects.create(
        name="FlipHigh", summary="flip is high", severities=["critical"], service="test"
    )
    Threshold.objects.create(
        key="flip", metric=metric, alert=alert, direction="above", warning=40, critical=60
    )
    NotificationChannel.objects.create(
        name="on-call",
        kind=ChannelKind.SLACK,
        target=f"http://127.0.0.1:{inbox.server_address[1]}/hook",
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "controlpanel.settings",
        "DATABASE_URL": database_url(),
        "PROMETHEUS_URL": prometheus.url,
        "ALERTMANAGER_URL": f"http://127.0.0.1:{services.free_port()}",
        "REDIS_URL": redis_server.url,
        "CELERY_BROKER_URL": redis_server.url,
        "CELERY_RESULT_BACKEND": redis_server.url,
        "EVALUATION_INTERVAL": str(INTERVAL),
        "EVALUATION_SHARD_SERIES": "10",
        "VAR_DIR": str(tmp_path),
    }
    workers = [
        celery(
            ["worker", "-Q", "celery", "--concurrency", "1", "--hostname", f"host{n}@%h"],
            env,
            tmp_path / f"worker{n}.log",
        )
        for n in (1, 2)
    ]
    beats = [
        celery(
            ["beat", "--pidfile=", "-s", str(tmp_path / f"beat{n}")], env, tmp_path / f"beat{n}.log"
        )
        for n in (1, 2)
    ]
    slots: set[int] = set()
    try:

        def ten_cycles() -> bool:
            row = TaskSlot.objects.filter(
                task=EVALUATION_TASK, slot__gte=0, finished_at__isnull=False
            ).first()
            if row:
                slots.add(row.slot)
            return len(slots) >= CYCLES

        wait_for(ten_cycles, CYCLES * INTERVAL * 6 + 120, f"{CYCLES} finished cycles")
        stop(beats)
        broker = redis.Redis.from_url(redis_server.url)

        def settled() -> bool:
            """Nothing left to do: no message queued, the last cycle finished long enough ago
            that a tick a worker still held has expired (beat's messages expire after one
            interval), and every change that deserves a message has one."""
            row = TaskSlot.objects.get(task=EVALUATION_TASK)
            quiet = timezone.now() - row.claimed_at > timedelta(seconds=INTERVAL + 2)
            notified = set(Notification.objects.values_list("state_change_id", flat=True))
            return (
                broker.llen("celery") == 0
                and row.finished_at is not None
                and quiet
                and {c.pk for c in deserving()} <= notified
            )

        wait_for(settled, 180, "the workers to finish the last cycle and its messages")
    finally:
        stop(beats + workers)
    logs = "\n".join(p.read_text() for p in tmp_path.glob("*.log"))
    assert "Traceback" not in logs, logs[-4000:]

    # each check's history is a chain: no change from a state the check was no longer in
    assert Check.objects.count() == SERIES
    flips = 0
    for check in Check.objects.all():
        history = list(check.changes.order_by("at", "pk"))
        for before, after in itertools.pairwise(history):
            assert after.from_state == before.to_state, (check.signature, history)
            assert after.at > before.at
        flips += len(history)
    assert flips > SERIES * 3, "the gauge flipped fewer times than ten cycles should see"
    # every change that deserves a message got exactly one, and the webhook received each once
    sent = Counter(Notification.objects.values_list("state_change_id", flat=True))
    assert sent and all(n == 1 for n in sent.values()), sent.most_common(3)
    assert set(sent) == {c.pk for c in deserving()}
    assert len(inbox.received) == len(sent)
