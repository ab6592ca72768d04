"""The webhook under an Alertmanager cluster (issue 15): two Alertmanagers peered by gossip,
both handed the same 10,000 alerts (as an HA pair of Prometheus does), delivering to the
panel's webhook on a real gunicorn; counted: alerts stored, lost (handed over, never stored)
and duplicated (more than one row for one alert), deliveries received, and the throughput.

    .venv/bin/python bench/webhook_cluster.py [--alerts 10000] [--database postgres]

It runs on a throwaway database: SQLite in a temporary directory, or with ``--database
postgres`` a fresh database ``bench_webhook`` on the PostgreSQL at 127.0.0.1:5432 (dropped
and created again). Alertmanager and gunicorn come from the machine (Debian's package and
the project's .venv); nothing of the local stack is needed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
TOKEN = "bench-webhook-token"  # noqa: S105 (a throwaway panel)
BATCH = 500  # alerts per POST, as Prometheus batches them


def free_ports(count: int) -> list[int]:
    """Distinct free ports: all stay bound until each is chosen."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def free_port() -> int:
    return free_ports(1)[0]


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:g} s")


def database_url(kind: str, work: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{work / 'db.sqlite3'}"
    for sql in ("DROP DATABASE IF EXISTS bench_webhook", "CREATE DATABASE bench_webhook"):
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql],
            check=True,
            capture_output=True,
        )
    return "postgres://postgres@127.0.0.1:5432/bench_webhook"


def alertmanager_config(webhook: str, token_file: Path) -> str:
    # one group per alert: the cluster sends each as its own notification, the worst case
    return f"""
route:
  receiver: panel
  group_by: [alertname, pod]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 1h
receivers:
  - name: panel
    webhook_configs:
      - url: {webhook}
        send_resolved: false
        max_alerts: 0
        http_config:
          authorization:
            type: Bearer
            credentials_file: {token_file}
"""


def start_peers(work: Path, config: str) -> list[tuple[subprocess.Popen, str]]:
    ports = free_ports(4)
    gossip, webs = ports[:2], ports[2:]
    peers = []
    for index, port in enumerate(gossip):
        data = work / f"am{index}"
        data.mkdir()
        (data / "alertmanager.yml").write_text(config)
        web = webs[index]
        process = subprocess.Popen(
            [
                "prometheus-alertmanager",
                f"--config.file={data / 'alertmanager.yml'}",
                f"--storage.path={data}",
                f"--web.listen-address=127.0.0.1:{web}",
                f"--cluster.listen-address=127.0.0.1:{port}",
                f"--cluster.advertise-address=127.0.0.1:{port}",
                f"--cluster.peer=127.0.0.1:{gossip[1 - index]}",
                "--cluster.settle-timeout=2s",
            ],
            stdout=(data / "log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        peers.append((process, f"http://127.0.0.1:{web}"))
    for _, url in peers:
        wait_http(f"{url}/-/ready")
    return peers


def post(url: str, alerts: list[dict]) -> None:
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    if not shutil.which("prometheus-alertmanager"):
        raise SystemExit("prometheus-alertmanager is not installed: run `make setup`")
    work = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "controlpanel.settings",
        "SECRET_KEY": "bench-only-secret-key-0123456789-not-for-production",
        "DATABASE_URL": database_url(args.database, work),
        "CACHE_URL": "locmem://",
        "USE_HTTPS": "0",
        "STATIC_MANIFEST": "0",
        "DEBUG": "0",
        "ALERTMANAGER_WEBHOOK_TOKEN": TOKEN,
        "VAR_DIR": str(work),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    python = str(BASE / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=BASE, env=env, check=True)
    port = free_port()
    web = subprocess.Popen(
        [
            str(BASE / ".venv" / "bin" / "gunicorn"),
            "controlpanel.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "8",
        ],
        cwd=BASE,
        env=env,
        stdout=(work / "web.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    peers: list[tuple[subprocess.Popen, str]] = []
    try:
        wait_http(f"http://127.0.0.1:{port}/health/db")
        token_file = work / "token"
        token_file.write_text(TOKEN)
        config = alertmanager_config(
            f"http://127.0.0.1:{port}/api/alertmanager/webhook", token_file
        )
        peers = start_peers(work, config)
        starts = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        alerts = [
            {
                "labels": {"alertname": "BenchStorm", "severity": "warning", "pod": f"pod-{i:05d}"},
                "annotations": {"summary": "a storm"},
                "startsAt": starts,
            }
            for i in range(args.alerts)
        ]
        began = time.monotonic()
        for start in range(0, len(alerts), BATCH):  # every alert to both peers
            for _, url in peers:
                post(url, alerts[start : start + BATCH])
        stored = duplicated = deliveries = 0
        deadline = time.monotonic() + args.timeout
        count = [
            python,
            "-c",
            (
                "import django; django.setup()\n"
                "from django.db.models import Count, Sum\n"
                "from firing.models import FiringAlert\n"
                "rows = FiringAlert.objects.filter(alertname='BenchStorm')\n"
                "by_alert = rows.values('fingerprint').annotate(n=Count('pk'))\n"
                "extra = by_alert.filter(n__gt=1).count()\n"
                "print(rows.values('fingerprint').distinct().count(), extra,"
                " rows.aggregate(d=Sum('deliveries'))['d'] or 0)\n"
            ),
        ]
        while time.monotonic() < deadline:
            out = subprocess.run(count, cwd=BASE, env=env, capture_output=True, text=True)
            stored, duplicated, deliveries = (int(x) for x in out.stdout.split())
            if stored >= args.alerts:
                break
            time.sleep(1)
        seconds = time.monotonic() - began
        print(f"database: {args.database}; two Alertmanagers peered, each handed all alerts")
        print(
            "| alerts handed over | stored | lost | duplicated rows | deliveries | seconds "
            "| alerts/s |"
        )
        print("|---|---|---|---|---|---|---|")
        print(
            f"| {args.alerts:,} | {stored:,} | {args.alerts - stored:,} | {duplicated:,} "
            f"| {deliveries:,} | {seconds:.1f} | {stored / seconds:,.0f} |",
            flush=True,
        )
    finally:
        for process in [web, *(p for p, _ in peers)]:
            process.send_signal(signal.SIGTERM)
        for process in [web, *(p for p, _ in peers)]:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:  # busy sending: it has had its chance
                process.kill()
                process.wait(5)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
