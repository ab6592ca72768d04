"""Many viewers of a live dashboard (issue 13): N simulated viewers keep the overview open and
refresh it the way static/js/live.js does (every LIVE_REFRESH_SECONDS, the whole page with
``HX-Request``), spread evenly over the interval. Measured: the time of each refresh (median,
p95, worst) and the queries Prometheus answered per minute meanwhile, read from Prometheus's
own /metrics (``prometheus_http_requests_total`` of /api/v1/query and /api/v1/query_range),
with 1 viewer and with 200. The answers that cost Prometheus (the charts' range queries, the
banner's probe) are shared between viewers by clock, so the two rates should be the same. The
scheduler (beat) is paused while it measures, so that Prometheus counts the viewers' queries
alone, not the evaluation cycles' (which do not depend on viewers); it is started again after.

Against a running stack (`make run`):

    .venv/bin/python bench/live_viewers.py            # none (the baseline), 1, then 200
    .venv/bin/python bench/live_viewers.py 1 50 200   # other counts
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))

from bench.panel import PANEL, login  # noqa: E402

PAGE = "/d/leanvibe-overview"
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
QUERY_HANDLERS = ("/api/v1/query", "/api/v1/query_range")
COUNTER = re.compile(r"^prometheus_http_requests_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def stack_env() -> dict[str, str]:
    env: dict[str, str] = {}
    path = BASE / "var" / "stack.env"
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                env[key.strip()] = value.strip().strip("'\"")
    return env


def prometheus_queries(prometheus: str) -> float:
    """Queries Prometheus has answered so far (its own counter, read without a query)."""
    text = requests.get(f"{prometheus}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        found = COUNTER.match(line)
        if found and any(f'handler="{h}"' in found["labels"] for h in QUERY_HANDLERS):
            total += float(found["value"])
    return total


def run(viewers: int, interval: float, prometheus: str) -> None:
    sessions = [login() for _ in range(min(viewers, 20))]  # sessions shared round-robin
    if not viewers:  # the baseline: what Prometheus answers with nobody watching
        before = prometheus_queries(prometheus)
        time.sleep(SECONDS)
        rate = (prometheus_queries(prometheus) - before) * 60 / SECONDS
        print(f"   0 viewers (baseline): Prometheus answered {rate:5.1f} queries/min")
        return
    times: list[float] = []
    errors = 0
    lock = threading.Lock()
    start = time.monotonic() + 2.0
    stop = start + SECONDS

    def viewer(number: int) -> None:
        nonlocal errors
        session = sessions[number % len(sessions)]
        due = start + interval * number / viewers  # spread over the interval
        while due < stop:
            time.sleep(max(0.0, due - time.monotonic()))
            began = time.perf_counter()
            try:
                answer = session.get(
                    f"{PANEL}{PAGE}",
                    headers={"HX-Request": "true", "X-Live-Refresh": "1"},
                    timeout=30,
                )
                ok = answer.status_code == 200 and 'id="board"' in answer.text
            except requests.RequestException:
                ok = False
            took = time.perf_counter() - began
            with lock:
                times.append(took)
                errors += not ok
            due += interval

    before = prometheus_queries(prometheus)
    threads = [threading.Thread(target=viewer, args=(n,)) for n in range(viewers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = prometheus_queries(prometheus)
    elapsed = time.monotonic() - start
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))] if times else float("nan")
    print(
        f"{viewers:4d} viewer(s): {len(times):5d} refreshes, {errors} failed; "
        f"median {statistics.median(times) * 1000:6.0f} ms, p95 {p95 * 1000:6.0f} ms, "
        f"worst {times[-1] * 1000:6.0f} ms; Prometheus answered "
        f"{(after - before) * 60 / elapsed:5.1f} queries/min"
    )


def supervisorctl(*args: str) -> None:
    config = BASE / "var" / "supervisor" / "supervisord.conf"
    subprocess.run(["supervisorctl", "-c", str(config), *args], check=True, capture_output=True)


def main() -> None:
    counts = [int(arg) for arg in sys.argv[1:]] or [0, 1, 200]
    env = {**stack_env(), **os.environ}
    prometheus = env.get("PROMETHEUS_URL", "http://127.0.0.1:9090")
    interval = float(env.get("LIVE_REFRESH_SECONDS", "15"))
    print(f"{PANEL}{PAGE} every {interval:g} s for {SECONDS:g} s; Prometheus at {prometheus}")
    supervisorctl("stop", "apps:beat")
    try:
        time.sleep(2 * interval)  # the last cycle's queries, and tasks it queued, done
        for count in counts:
            run(count, interval, prometheus)
    finally:
        supervisorctl("start", "apps:beat")


if __name__ == "__main__":
    main()
