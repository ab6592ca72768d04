"""Real servers for the tests: Prometheus, Alertmanager and Redis from Debian's packages,
each on a free port with a temporary data directory, stopped when the session ends."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports. All sockets stay bound until every port is chosen, so
    the kernel cannot hand one port out twice (closed one by one, two picks can collide);
    nor is a port that the caller holds bound at the time among them."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def tcp_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Service:
    """A server process the tests own. ``url`` is its base URL (or redis:// URL)."""

    name: str
    argv: list[str]
    port: int
    data_dir: Path
    is_ready: Callable[[], bool]
    url: str
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, timeout: float = 30) -> Service:
        binary = shutil.which(self.argv[0])
        if binary is None:
            raise RuntimeError(f"{self.argv[0]} is not installed; run `make setup`.")
        log = (self.data_dir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            if self.is_ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready in {timeout}s: {self.log_tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        path = self.data_dir / f"{self.name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def prometheus(data_dir: Path, config: str = "", *, extra: list[str] | None = None) -> Service:
    port = free_port()
    config_path = data_dir / "prometheus.yml"
    config_path.write_text(config or "global:\n  scrape_interval: 15s\n")
    url = f"http://127.0.0.1:{port}"
    return Service(
        "prometheus",
        [
            "prometheus",
            f"--config.file={config_path}",
            f"--storage.tsdb.path={data_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=100d",
            *(extra or []),
        ],
        port,
        data_dir,
        lambda: http_ok(f"{url}/-/ready"),
        url,
    )


def alertmanager(data_dir: Path, config: str) -> Service:
    port = free_port()
    config_path = data_dir / "alertmanager.yml"
    config_path.write_text(config)
    url = f"http://127.0.0.1:{port}"
    return Service(
        "alertmanager",
        [
            "prometheus-alertmanager",
            f"--config.file={config_path}",
            f"--storage.path={data_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        port,
        data_dir,
        lambda: http_ok(f"{url}/-/ready"),
        url,
    )


def redis(data_dir: Path) -> Service:
    port = free_port()
    return Service(
        "redis",
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        port,
        data_dir,
        lambda: tcp_open(port),
        f"redis://127.0.0.1:{port}/0",
    )


def victoria_metrics(data_dir: Path) -> Service:
    """VictoriaMetrics (Debian's package): a Prometheus-compatible query API."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return Service(
        "victoria-metrics",
        [
            "victoria-metrics",
            f"-storageDataPath={data_dir / 'data'}",
            f"-httpListenAddr=127.0.0.1:{port}",
            "-retentionPeriod=1y",
            # Answer with samples up to now, not 30 s behind (the default for late data).
            "-search.latencyOffset=0s",
        ],
        port,
        data_dir,
        lambda: http_ok(f"{url}/health"),
        url,
    )


def post_alerts(alertmanager_url: str, alerts: list[dict]) -> None:
    """Hand alerts to Alertmanager as Prometheus does (``POST /api/v2/alerts``)."""
    request = urllib.request.Request(
        f"{alertmanager_url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200, response.read()


def webhook_alertmanager_config(webhook_url: str, token_file: Path) -> str:
    """An Alertmanager that delivers to the panel's webhook at once and repeats every 2 s
    (so a test sees the same alert delivered more than once)."""
    return f"""
route:
  receiver: panel
  group_by: [alertname, severity, tenant_tier]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: panel
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: {token_file}
"""
