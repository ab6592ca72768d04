"""Page times with Prometheus hanging (issue 12: at most 2 s in all).

A real Prometheus from Debian's package is started on a free port and stopped with SIGSTOP:
it accepts connections and never answers, the worst case for a client. Each page is then
fetched through Django's test client on a throwaway SQLite database with the playbook loaded,
cold cache each time, and timed; a page's Prometheus calls share PAGE_PROMETHEUS_BUDGET.

    .venv/bin/python bench/hanging_prometheus.py
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
PAGES = ["/", "/d/leanvibe-overview", "/d/kubernetes-overview", "/alerts/rules", "/api/status"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_prometheus(data: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = data / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/-/ready", timeout=1)  # noqa: S310 (loopback)
            return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("Prometheus did not start")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-hang-"))
    process, url = start_prometheus(work)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="controlpanel.settings",
        DEBUG="1",
        SECRET_KEY="bench-only",  # noqa: S106 (a throwaway database)
        DATABASE_URL=f"sqlite:///{work / 'db.sqlite3'}",
        PROMETHEUS_URL=url,
        ALERTMANAGER_URL=f"http://127.0.0.1:{free_port()}",
        CACHE_URL="locmem://",
        VAR_DIR=str(work),
    )
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    user = User.objects.create_superuser("bench", password="bench-only")  # noqa: S106
    user.groups.add(*Group.objects.all())
    client = Client()
    client.force_login(user)
    for path in PAGES:  # compile templates and open connections before timing anything
        client.get(path, HTTP_HOST="127.0.0.1")
    os.kill(process.pid, signal.SIGSTOP)
    print(f"Prometheus {url} stopped with SIGSTOP; budget {settings.PAGE_PROMETHEUS_BUDGET} s")
    try:
        for path in PAGES:
            times = []
            for _ in range(3):
                cache.clear()
                started = time.perf_counter()
                status = client.get(path, HTTP_HOST="127.0.0.1").status_code
                times.append(time.perf_counter() - started)
            middle = statistics.median(times)
            print(f"{path:24} HTTP {status}  max {max(times):.2f} s  median {middle:.2f} s")
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
