"""The evaluation cycle at 10,000 and 100,000 series (issue 15, items 2 and 8): one threshold
over a synthetic exporter's series, evaluated by 1, 2 and 4 Celery worker processes.

    .venv/bin/python bench/sharded_cycle.py [--series 10000 100000] [--workers 1 2 4]

Everything is real and throwaway: a synthetic exporter (this process, one gauge with
``--series`` series, a few of them crossing the levels each half minute so that every cycle
writes state changes), Debian's Prometheus scraping it, Debian's Redis as Celery's broker,
a fresh PostgreSQL database ``bench_cycle`` at 127.0.0.1:5432 (dropped and created again),
and ``celery worker --concurrency 1`` processes started from the project's .venv.

A cycle is what beat sends: ``alerts.tasks.evaluate_thresholds``. It is timed from sending
to the moment the cycle's slot (``health.models.TaskSlot``) says it finished, which is after
the last shard has written its checks. The first cycle of each series count creates the
checks and is shown apart ("first"); the median of the next ones is the number to quote.
Resident memory is each worker's peak (VmHWM), read from /proc after the cycles.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
DATABASE = "bench_cycle"
METRIC = "bench_series_value"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen within {seconds:g} s")
        time.sleep(0.2)


class Exporter:
    """``bench_series_value{series="00042"}``: a value from 0 to 100 per series (a tenth of them
    above 90, a tenth between 80 and 90), and one series in 50 lifted by 15 during every
    other half minute, so that cycles see breaches and recoveries."""

    def __init__(self, series: int) -> None:
        self.series = series
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def render(self) -> str:
        phase = int(time.time() // 30)
        lines = [f"# TYPE {METRIC} gauge"]
        for k in range(self.series):
            value = (k * 7919 % 1000) / 10
            if (k + phase) % 50 == 0 and phase % 2:
                value += 15
            lines.append(f'{METRIC}{{series="{k:06d}"}} {value}')
        return "\n".join(lines) + "\n"


def instant(prometheus: str, expr: str) -> float:
    """The value of ``expr`` now, 0 while Prometheus is still starting."""
    query = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(f"{prometheus}/api/v1/query?{query}", timeout=30) as response:  # noqa: S310
            result = json.load(response)["data"]["result"]
    except OSError:
        return 0.0
    return float(result[0]["value"][1]) if result else 0.0


def start_prometheus(work: Path, exporter: Exporter) -> tuple[subprocess.Popen, str]:
    port = free_port()
    data = work / "prometheus"
    data.mkdir()
    (data / "prometheus.yml").write_text(
        "global: {scrape_interval: 10s, scrape_timeout: 10s}\n"
        "scrape_configs:\n"
        f"  - job_name: bench\n    static_configs: [{{targets: ['127.0.0.1:{exporter.port}']}}]\n"
    )
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={data / 'prometheus.yml'}",
            f"--storage.tsdb.path={data / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=(work / "prometheus.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


def start_redis(work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(work),
        ],
        stdout=(work / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, f"redis://127.0.0.1:{port}/0"


def create_database() -> str:
    for sql in (f"DROP DATABASE IF EXISTS {DATABASE}", f"CREATE DATABASE {DATABASE}"):
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql],
            check=True,
            capture_output=True,
        )
    return f"postgres://postgres@127.0.0.1:5432/{DATABASE}"


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a worker and of its pool child (``--concurrency 1``)."""
    peaks = []
    for each in [pid, *children(pid)]:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--cycles", type=int, default=3, help="timed cycles after the first")
    args = parser.parse_args()
    for command in ("prometheus", "redis-server", "psql"):
        if not shutil.which(command):
            raise SystemExit(f"{command} is not installed: run `make setup`")
    work = Path(tempfile.mkdtemp(prefix="bench-cycle-"))
    processes: list[subprocess.Popen] = []
    try:
        redis_process, broker = start_redis(work)
        processes.append(redis_process)
        env = {
            "DJANGO_SETTINGS_MODULE": "controlpanel.settings",
            "SECRET_KEY": "bench-only-secret-key-0123456789-not-for-production",
            "DATABASE_URL": create_database(),
            "CACHE_URL": "locmem://",
            "USE_HTTPS": "0",
            "DEMO_MODE": "0",
            "VAR_DIR": str(work),
            "REDIS_URL": broker,
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": broker,
        }
        os.environ.update(env)
        python = str(BASE / ".venv" / "bin" / "python")
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=BASE, check=True)
        sys.path.insert(0, str(BASE))
        import django

        django.setup()
        header = ("series", "workers", "first s", "cycle s", "changes", "RSS MB")
        print(" ".join(f"{h:>8}" for h in header))
        for series in args.series:
            run_series(series, args, work, processes, python)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


def run_series(
    series: int, args, work: Path, processes: list[subprocess.Popen], python: str
) -> None:
    from alerts.models import Alert, Check, StateChange, Threshold
    from alerts.tasks import EVALUATION_TASK, evaluate_thresholds
    from health.models import TaskSlot
    from metrics.models import Metric

    exporter = Exporter(series)
    (work / f"s{series}").mkdir()
    prometheus, url = start_prometheus(work / f"s{series}", exporter)
    processes.append(prometheus)
    wait_until(lambda: instant(url, f"count({METRIC})") >= series, 120, "the first scrape")
    Check.objects.all().delete()
    Threshold.objects.all().delete()
    Metric.objects.all().delete()
    metric = Metric.objects.create(
        key="bench_series",
        name="Bench series",
        category="infrastructure",
        unit="percent",
        query=METRIC,
        group_by=["series"],
        description="synthetic",
        impact="none",
    )
    alert, _ = Alert.objects.get_or_create(
        name="BenchSeriesHigh",
        defaults={"summary": "bench", "severities": ["warning"], "service": "bench"},
    )
    Threshold.objects.create(
        key="bench_series", metric=metric, alert=alert, direction="above", warning=80, critical=90
    )
    env = {**os.environ, "PROMETHEUS_URL": url}
    for workers in args.workers:
        pool = [
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "controlpanel",
                    "worker",
                    "-Q",
                    "celery",
                    "--concurrency",
                    "1",
                    "--hostname",
                    f"bench{n}@%h",
                    "--loglevel",
                    "WARNING",
                ],
                cwd=BASE,
                env=env,
                stdout=(work / f"worker-{series}-{workers}-{n}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            for n in range(workers)
        ]
        processes.extend(pool)
        from controlpanel.celery import app

        wait_until(
            lambda n=workers: len(app.control.ping(timeout=1) or []) >= n, 120, "the workers"
        )
        Check.objects.all().delete()
        times = []
        changes_before = StateChange.objects.count()
        for _ in range(args.cycles + 1):
            TaskSlot.objects.filter(task=EVALUATION_TASK).delete()
            began = time.monotonic()
            evaluate_thresholds.delay()
            wait_until(
                lambda: TaskSlot.objects.filter(
                    task=EVALUATION_TASK, slot__gte=0, finished_at__isnull=False
                ).exists(),
                600,
                "the cycle",
            )
            times.append(time.monotonic() - began)
        changes = StateChange.objects.count() - changes_before
        rss = max(peak_rss_mb(p.pid) for p in pool)
        print(
            f"{series:>8} {workers:>7} {times[0]:>8.2f} {statistics.median(times[1:]):>8.2f}"
            f" {changes:>8} {rss:>7.0f}",
            flush=True,
        )
        for p in pool:
            p.send_signal(signal.SIGTERM)
        for p in pool:
            p.wait(timeout=60)
    prometheus.send_signal(signal.SIGTERM)
    prometheus.wait(timeout=30)
    exporter.server.shutdown()


if __name__ == "__main__":
    main()
