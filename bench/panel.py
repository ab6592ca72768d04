"""Benchmarks of issue 4, against a running stack (`make run`):

  (a) overview server time against the slowest of its Prometheus queries run alone
      (target ratio <= 1.5: a sequential client would pay the sum);
  (b) one evaluation cycle of the full playbook, and of 1,000 synthetic thresholds
      (target < 1 s; cost grows with distinct queries, not thresholds);
  (c) p95 latency of the overview page and /api/status with 32 concurrent clients;
  (d) resident memory of the web and worker processes (targets 150 MB and 200 MB).

    .venv/bin/python bench/panel.py

It reads the stack's environment (var/secrets, ports) like `make run` does; (b) with 1,000
thresholds runs on a throwaway SQLite copy so the stack's database is not touched.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

BASE = Path(__file__).resolve().parent.parent
PANEL = os.environ.get("PANEL_URL", "http://127.0.0.1:8000")
PASSWORD = os.environ.get("DEMO_PASSWORD", "leanvibe-demo")


def setup_django(database_url: str | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings")
    os.environ.setdefault("SECRET_KEY_FILE", str(BASE / "var" / "secrets" / "secret_key"))
    os.environ.setdefault("USE_HTTPS", "0")
    os.environ["CACHE_URL"] = "locmem://"  # a cold cache: measure Prometheus, not Redis
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()


def login() -> requests.Session:
    session = requests.Session()
    page = session.get(f"{PANEL}/accounts/login/", timeout=10)
    token = page.cookies.get("csrftoken") or session.cookies.get("csrftoken")
    session.post(
        f"{PANEL}/accounts/login/",
        timeout=10,
        data={"username": "sre", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{PANEL}/accounts/login/"},
    )
    return session


def bench_overview_ratio() -> None:
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.test import Client

    from dashboards.views import RANGES
    from integrations import prometheus
    from metrics.models import Dashboard

    client = Client()
    client.force_login(User.objects.get(username="sre"))
    board = Dashboard.objects.get(slug="leanvibe-overview")
    queries = [p.metric.query for p in board.panels.select_related("metric")]
    seconds, step = RANGES["6h"]
    ratios, pages, slowest_list = [], [], []
    for _ in range(5):
        cache.clear()
        started = time.perf_counter()
        assert client.get("/d/leanvibe-overview", HTTP_HOST="127.0.0.1").status_code == 200
        page = time.perf_counter() - started
        slowest = 0.0
        for query in queries:
            cache.clear()
            end = time.time()
            started = time.perf_counter()
            prometheus.range_query(query, end - seconds, end, step)
            slowest = max(slowest, time.perf_counter() - started)
        pages.append(page)
        slowest_list.append(slowest)
        ratios.append(page / slowest)
    print(
        f"(a) overview page {statistics.median(pages) * 1000:.0f} ms (server, cold cache), "
        f"slowest of its {len(queries)} queries alone {statistics.median(slowest_list) * 1000:.0f}"
        f" ms: ratio {statistics.median(ratios):.2f} (target <= 1.5)"
    )


def bench_cycle() -> None:
    from alerts.cycle import evaluate_cycle

    runs = [evaluate_cycle() for _ in range(5)]
    best = sorted(r.seconds for r in runs)[len(runs) // 2]
    print(
        f"(b) one evaluation cycle of the playbook: {best * 1000:.0f} ms "
        f"({runs[-1].checks} checks, {runs[-1].queries} distinct queries)"
    )


def bench_synthetic_cycle() -> None:
    """1,000 thresholds over the playbook's queries, on a throwaway database (child process:
    Django's settings are read once)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"}
        subprocess.run([sys.executable, __file__, "--synthetic"], check=True, env=env)


def synthetic() -> None:
    from django.core.management import call_command

    from alerts.cycle import evaluate_cycle
    from alerts.models import Threshold

    call_command("migrate", verbosity=0)
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    base = list(Threshold.objects.all())
    Threshold.objects.bulk_create(
        Threshold(
            key=f"synthetic-{i}",
            metric=t.metric,
            alert=t.alert,
            scope=t.scope,
            direction=t.direction,
            warning=t.warning * (1 + i / 5000),
            critical=t.critical,
            for_warning=t.for_warning,
            for_critical=t.for_critical,
            relative_to=t.relative_to,
            playbook_values={},
        )
        for i, t in ((i, base[i % len(base)]) for i in range(1000 - len(base)))
    )
    evaluate_cycle()  # the first cycle creates every check
    runs = sorted(evaluate_cycle().seconds for _ in range(3))
    print(
        f"(b) one evaluation cycle of {Threshold.objects.count():,} thresholds: "
        f"{runs[1] * 1000:.0f} ms (the playbook's distinct queries)"
    )


def bench_concurrency() -> None:
    for path in ("/d/leanvibe-overview", "/api/status"):
        sessions = [login() for _ in range(32)]

        def hit(session: requests.Session, path: str = path) -> list[float]:
            times = []
            for _ in range(10):
                started = time.perf_counter()
                response = session.get(f"{PANEL}{path}", timeout=60)
                response.raise_for_status()
                times.append(time.perf_counter() - started)
            return times

        with ThreadPoolExecutor(max_workers=32) as pool:
            latencies = sorted(t for times in pool.map(hit, sessions) for t in times)
        p95 = latencies[int(0.95 * len(latencies)) - 1]
        print(
            f"(c) {path}: p95 {p95 * 1000:.0f} ms, median "
            f"{statistics.median(latencies) * 1000:.0f} ms over {len(latencies)} requests "
            "from 32 concurrent clients"
        )


def rss_mb(pattern: str) -> list[tuple[int, float]]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    found = []
    for pid in map(int, out.split()):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        found.append((pid, kb / 1024))
    return found


def bench_memory() -> None:
    web = rss_mb("gunicorn controlpanel.wsgi")
    worker = rss_mb("celery -A controlpanel worker")
    print(
        "(d) resident memory: web "
        + ", ".join(f"{mb:.0f} MB" for _, mb in web)
        + " (master, worker; target < 150 MB each); Celery worker "
        + ", ".join(f"{mb:.0f} MB" for _, mb in worker)
        + " (main process and pool children; target < 200 MB each)"
    )


def main() -> None:
    setup_django()
    if "--synthetic" in sys.argv:
        synthetic()
        return
    bench_overview_ratio()
    bench_cycle()
    bench_synthetic_cycle()
    bench_concurrency()
    bench_memory()


if __name__ == "__main__":
    main()
