"""The overview under 64 concurrent clients with two web processes (issue 15, item 8), against
the replicated stack:

    STACK_REPLICAS=2 make run
    .venv/bin/python bench/replicated_web.py [--clients 64] [--requests 10]

(with ``VAR_DIR`` and the port variables of that run, if it moved them). Each client signs in
as ``sre`` once and then asks for ``/d/leanvibe-overview`` ``--requests`` times, as fast as
it is answered. Measured twice, as the same 64 clients: through the round-robin proxy
(``WEB_PORT``: both web processes) and straight at ``web-1`` alone (``WEB_1_PORT``): p50,
p95 and the worst, and the requests each web process served (from the proxy, counted from
the ``X-Served-By`` header the local proxy adds). The shared chart cache is in the stack's
Redis, so after the first requests both processes answer from it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
from bench.cardinality import load_stack_environment, login  # noqa: E402

PATH = "/d/leanvibe-overview"


def run(panel: str, clients: int, repeat: int) -> tuple[list[float], Counter[str]]:
    sessions = [login(panel) for _ in range(clients)]
    served: Counter[str] = Counter()

    def client(session: requests.Session) -> list[float]:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = session.get(f"{panel}{PATH}", timeout=120)
            times.append(time.perf_counter() - started)
            if response.status_code != 200 or "/accounts/login/" in response.url:
                raise SystemExit(f"{PATH} answered {response.status_code} at {response.url}")
            served[response.headers.get("X-Served-By", "?")] += 1
        return times

    with ThreadPoolExecutor(max_workers=clients) as pool:
        latencies = sorted(t for times in pool.map(client, sessions) for t in times)
    return latencies, served


def report(name: str, latencies: list[float], served: Counter[str]) -> None:
    p95 = latencies[max(0, int(0.95 * len(latencies)) - 1)]
    print(
        f"{name:<28} p50 {statistics.median(latencies) * 1000:6.0f} ms"
        f"  p95 {p95 * 1000:6.0f} ms  worst {latencies[-1] * 1000:6.0f} ms"
        f"  over {len(latencies)} requests; served by {dict(served)}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args()
    load_stack_environment()
    if os.environ.get("STACK_REPLICAS", "1") == "1":
        raise SystemExit("The stack runs one web process: start it with STACK_REPLICAS=2.")
    proxy = f"http://127.0.0.1:{os.environ.get('WEB_PORT', '8000')}"
    alone = f"http://127.0.0.1:{os.environ.get('WEB_1_PORT', '8011')}"
    for name, panel in (("two web processes (proxy)", proxy), ("web-1 alone", alone)):
        latencies, served = run(panel, args.clients, args.requests)
        report(name, latencies, served)


if __name__ == "__main__":
    main()
