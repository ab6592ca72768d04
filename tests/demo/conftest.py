"""Fixtures for the demo environment: a workload and a demo cluster on free ports, with a
clock the tests can move (pods start after a few seconds of it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo import kube, workload
from tests.services import free_port


@dataclass
class Clock:
    offset: float = 0.0

    def __call__(self) -> float:
        import time

        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def demo_env(tmp_path: Path, clock: Clock) -> Iterator[workload.DemoEnvironment]:
    env = workload.DemoEnvironment(tmp_path / "state.json", clock=clock)
    yield env
    env.stop()


@pytest.fixture
def workload_url(demo_env: workload.DemoEnvironment) -> Iterator[str]:
    port = free_port()
    server = workload.serve(demo_env, "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cluster(clock: Clock) -> kube.Cluster:
    return kube.Cluster(clock=clock)


@pytest.fixture
def cluster_url(cluster: kube.Cluster) -> Iterator[str]:
    port = free_port()
    server = kube.serve(cluster, "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture
def kubeconfig(cluster_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(kube.kubeconfig(cluster_url))
    return path
