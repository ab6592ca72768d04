"""Fixtures for runbooks: the playbook loaded, the demo cluster on a free port with the
panel's KUBECONFIG pointing at it, the application cache in a real Redis, Celery running
queued runs at once (in this thread, after the transaction commits), and real HTTP servers on
free ports that record every connection and request (the configured targets, and receivers
that must hear nothing)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from controlpanel.celery import app
from demo import kube
from tests.services import free_port

NS = "leanvibe-production"


@pytest.fixture
def playbook(db: None) -> None:
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture
def cluster() -> kube.Cluster:
    return kube.Cluster()


@pytest.fixture
def cluster_kubeconfig(cluster: kube.Cluster, tmp_path: Path, settings) -> Iterator[Path]:
    port = free_port()
    server = kube.serve(cluster, "127.0.0.1", port)
    path = tmp_path / "kubeconfig"
    path.write_text(kube.kubeconfig(f"http://127.0.0.1:{port}"))
    settings.KUBECONFIG = str(path)
    yield path
    server.shutdown()


@pytest.fixture
def cache_redis(redis_server, settings) -> Iterator[str]:
    import redis

    url = redis_server.url.rsplit("/", 1)[0] + "/2"
    settings.RUNBOOK_REDIS_URL = url
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks, eager_celery):
    """Queued runs execute when the view's transaction commits, as a worker would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


# What a server answers a request with: status, headers, body.
Answer = Callable[[Seen], tuple[int, dict[str, str], bytes]]


def ok(seen: Seen) -> tuple[int, dict[str, str], bytes]:
    status = 404 if seen.path.endswith("/missing") else 200
    return status, {"Content-Type": "application/json"}, b'{"status": "ok"}'


@dataclass
class Recorder:
    """A real HTTP server on 127.0.0.1: every connection it accepted (even one that sent
    nothing) and every request it read."""

    url: str
    connections: list[tuple[str, int]] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)

    @property
    def heard_anything(self) -> bool:
        return bool(self.connections or self.requests)


@pytest.fixture
def http_servers() -> Iterator[Callable[..., Recorder]]:
    """``start(answer=ok)`` → a ``Recorder`` listening on a free port until the test ends."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer = ok) -> Recorder:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                recorder.requests.append(seen)
                status, headers, body = answer(seen)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def verify_request(self, request: Any, client_address: Any) -> bool:
                recorder.connections.append(client_address)
                return True

        server = Server(("127.0.0.1", 0), Handler)
        recorder = Recorder(f"http://127.0.0.1:{server.server_address[1]}")
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return recorder

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def point_target(settings) -> Callable[..., None]:
    """``point_target(name, url, credential_env="")``: the configured target ``name`` (added
    when new) goes to ``url``, as RUNBOOK_HTTP_TARGETS would say in production."""

    def point(name: str, url: str, credential_env: str = "") -> None:
        settings.RUNBOOK_HTTP_TARGETS = {
            **settings.RUNBOOK_HTTP_TARGETS,
            name: {"url": url, "credential_env": credential_env},
        }

    return point
