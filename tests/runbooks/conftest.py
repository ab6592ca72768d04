"""Fixtures for runbooks: the playbook loaded, the demo cluster on a free port with the
panel's KUBECONFIG pointing at it, the application cache in a real Redis, and Celery running
queued runs at once (in this thread, after the transaction commits)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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
