"""Benchmark of the firing list (/alerts/) and the other paged Alertmanager-loop pages with
10,000 firing alerts, on a throwaway SQLite database; no stack needed.

    .venv/bin/python bench/firing_list.py [--alerts N] [--runs N]

It creates the alerts as an alert storm looks (most of them one alert over many instances,
the rest spread over a dozen alerts, severities and tiers; a third acknowledged, some twice;
500 resolved in the last day), then times each page server-side through Django's test client
(the whole middleware stack, no network) and reports the median and slowest of the runs and
the size of the page, with the CPU time the request took (on a busy machine the wall time
is mostly waiting for a CPU: compare the two). Alertmanager and Prometheus point at closed
ports: the page says it could not ask Alertmanager, which costs a refused connection, so the
numbers are the panel's own work. Targets: under 300 ms and under 500 KB for /alerts/.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
TARGET_MS = 300
TARGET_KB = 500
PAGES = (
    "/alerts/",
    "/alerts/?page=101",
    "/alerts/?per_page=100",
    "/alerts/?severity=critical&tier=team&acknowledged=no",
    "/alerts/?resolved_page=5",
    "/alerts/noise",
    "/alerts/silences",
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def setup_django(database: Path) -> None:
    sys.path.insert(0, str(BASE))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-not-for-production")
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["CACHE_URL"] = "locmem://"
    os.environ["USE_HTTPS"] = "0"
    os.environ["STATIC_MANIFEST"] = "0"
    os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory: not what production pays
    os.environ["ALERTMANAGER_URL"] = f"http://127.0.0.1:{_closed_port()}"
    os.environ["PROMETHEUS_URL"] = f"http://127.0.0.1:{_closed_port()}"
    import django

    django.setup()


def create_alerts(count: int) -> None:
    from django.contrib.auth.models import Permission, User
    from django.core.management import call_command
    from django.utils import timezone

    from core import permissions
    from firing.models import Acknowledgement, FiringAlert

    call_command("migrate", verbosity=0)
    # The playbook's alerts: the noise report has a row for each.
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    sre = User.objects.create_user("sre")  # signed in with force_login: no password
    # What the SRE role holds for these pages, given directly: the bench reads the roles'
    # permission queries as an SRE's request does, without depending on how roles are made.
    for dotted in (permissions.VIEW_OPERATIONS, permissions.RUN_ACTIONS):
        app_label, codename = dotted.split(".", 1)
        sre.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    now = timezone.now()
    names = [
        "LeanVibeHighResponseTime",
        "LeanVibeHighErrorRate",
        "HighCPUUsage",
        "HighMemoryUsage",
        "DiskSpaceLow",
        "RedisMemoryHigh",
        "Neo4jSlowQueries",
        "PodCrashLooping",
        "BackupFailed",
        "CertificateExpiring",
        "SignupDrop",
        "MRRDrop",
    ]
    tiers = ["enterprise", "professional", "team"]

    def alert(i: int, status: str) -> FiringAlert:
        # Four in five alerts are the storm: one alert firing on thousands of pods.
        name = names[0] if i % 5 else names[(i // 5) % len(names)]
        severity = "critical" if i % 3 else "warning"
        labels = {
            "alertname": name,
            "severity": severity,
            "tenant_tier": tiers[i % len(tiers)],
            "service": "leanvibe-backend",
            "namespace": "production",
            "pod": f"leanvibe-backend-{i:05d}-7f9c",
            "instance": f"10.0.{i // 250}.{i % 250}:8080",
            "job": "leanvibe-backend",
        }
        starts = now - timedelta(minutes=5 + i % 600)
        return FiringAlert(
            fingerprint=f"{status[0]}{i:015x}",
            starts_at=starts,
            ends_at=now - timedelta(minutes=i % 600) if status == "resolved" else None,
            status=status,
            alertname=name,
            severity=severity,
            labels=labels,
            annotations={
                "summary": f"{name} on {labels['pod']}",
                "description": "p95 response time above 2 s for 5 minutes on this pod.",
                "runbook_url": f"/runbooks/{name}",
            },
            generator_url="http://prometheus:9090/graph?g0.expr=histogram_quantile",
            receiver="controlpanel",
            deliveries=1 + i % 7,
            acknowledged_by=sre if i % 3 == 0 else None,
            acknowledged_at=now - timedelta(minutes=2) if i % 3 == 0 else None,
            ack_comment="scaling the backend, INC-1234" if i % 3 == 0 else "",
        )

    FiringAlert.objects.bulk_create((alert(i, "firing") for i in range(count)), batch_size=2000)
    FiringAlert.objects.bulk_create((alert(i, "resolved") for i in range(500)), batch_size=2000)
    acked = FiringAlert.objects.filter(acknowledged_at__isnull=False).values_list("pk", flat=True)
    Acknowledgement.objects.bulk_create(
        (
            Acknowledgement(alert_id=pk, actor=sre, comment=comment, at=now - timedelta(minutes=m))
            for pk in acked
            for comment, m in (("on it", 30), ("scaling the backend, INC-1234", 2))
        ),
        batch_size=2000,
    )


def time_pages(runs: int) -> bool:
    from django.contrib.auth.models import User
    from django.test import Client

    from firing.models import FiringAlert

    client = Client()
    client.force_login(User.objects.get(username="sre"))
    firing = FiringAlert.objects.filter(status="firing").count()
    print(f"{firing:,} firing alerts, {FiringAlert.objects.count() - firing:,} resolved")
    within = True
    for path in PAGES:
        response = client.get(path, HTTP_HOST="127.0.0.1")  # warm: templates, connections
        assert response.status_code == 200, (path, response.status_code)
        times, cpu = [], []
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path, HTTP_HOST="127.0.0.1")
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        median, slowest = statistics.median(times) * 1000, max(times) * 1000
        size = len(response.content) / 1000
        verdict = ""
        if path.startswith("/alerts/") and "noise" not in path and "silences" not in path:
            ok = median < TARGET_MS and size < TARGET_KB
            within &= ok
            verdict = "  ok" if ok else f"  OVER the target ({TARGET_MS} ms, {TARGET_KB} KB)"
        print(
            f"{path:<48} median {median:4.0f} ms (CPU {statistics.median(cpu) * 1000:4.0f} ms), "
            f"slowest {slowest:4.0f} ms, {size:6.1f} KB{verdict}"
        )
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (CPU time is this process's share)")
    return within


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000, help="firing alerts to create")
    parser.add_argument("--runs", type=int, default=10, help="timed requests per page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp) / "bench.sqlite3")
        started = time.perf_counter()
        create_alerts(args.alerts)
        print(f"created in {time.perf_counter() - started:.1f} s")
        within = time_pages(args.runs)
    sys.exit(0 if within else 1)


if __name__ == "__main__":
    main()
