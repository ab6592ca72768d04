"""Benchmark of issue 14 (items 4 and 8): the panel at 1,000 backend pods and 100 nodes,
against a running stack started with

    DEMO_PODS=1000 DEMO_NODES=100 make run
    .venv/bin/python bench/cardinality.py

(with ``VAR_DIR`` and the port variables of that run, if it moved them). It reads the
stack's ``stack.env`` as ``manage.py`` does, and measures:

  - ``/d/kubernetes-overview``: server time and bytes (targets < 300 ms, < 500 KB);
  - one evaluation cycle (``alerts.cycle.evaluate_cycle``; target < 2 s);
  - ``/api/status``: time and bytes;
  - a runbook page with pod pickers (``/runbooks/HighMemoryUsage``) and one picker's
    narrowing request: time and bytes.

Times are medians of a few requests with the shared cache as the stack has it (the first,
cold request is shown too), taken over HTTP on loopback from the running gunicorn.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

import requests

BASE = Path(__file__).resolve().parent.parent
REPEAT = 5


def load_stack_environment() -> None:
    """The stack's variables (``$VAR_DIR/stack.env``), where the environment does not set them."""
    var_dir = Path(os.environ.get("VAR_DIR") or BASE / "var")
    try:
        lines = (var_dir / "stack.env").read_text().splitlines()
    except FileNotFoundError:
        sys.exit(f"No {var_dir / 'stack.env'}: start the stack first (see the docstring).")
    for line in lines:
        name, is_assignment, value = line.partition("=")
        if is_assignment and not line.lstrip().startswith("#"):
            os.environ.setdefault(name.strip(), value)


def login(panel: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{panel}/accounts/login/", timeout=10)
    token = page.cookies.get("csrftoken") or session.cookies.get("csrftoken")
    session.post(
        f"{panel}/accounts/login/",
        timeout=10,
        data={
            "username": "sre",
            "password": os.environ.get("DEMO_PASSWORD", "leanvibe-demo"),
            "csrfmiddlewaretoken": token,
        },
        headers={"Referer": f"{panel}/accounts/login/"},
    )
    return session


def timed(session: requests.Session, url: str) -> tuple[float, float, int]:
    """(cold seconds, median seconds, bytes) of GET ``url``."""
    times, size = [], 0
    for _ in range(REPEAT + 1):
        started = time.perf_counter()
        response = session.get(url, timeout=60)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        size = len(response.content)
    return times[0], statistics.median(times[1:]), size


def prometheus_value(expr: str) -> float:
    url = f"{os.environ['PROMETHEUS_URL']}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    result = requests.get(url, timeout=10).json()["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def main() -> None:
    load_stack_environment()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings")
    import django

    django.setup()
    from alerts.cycle import evaluate_cycle

    panel = os.environ.get("PANEL_URL", "http://127.0.0.1:8000")
    pods = prometheus_value(
        'count(container_memory_usage_bytes{pod=~"leanvibe-backend-.*",container="backend"})'
    )
    nodes = prometheus_value(
        'count(count by (instance) (node_cpu_seconds_total{job="kubernetes-nodes"}))'
    )
    print(f"Prometheus holds {pods:,.0f} backend pods and {nodes:,.0f} demo nodes.")
    if pods < 1000 or nodes < 100:
        print("  (below 1,000 and 100: start the stack with DEMO_PODS=1000 DEMO_NODES=100)")

    rows: list[tuple[str, str, str, str]] = []
    cycles = [evaluate_cycle() for _ in range(3)]
    cycle = sorted(cycles, key=lambda c: c.seconds)[1]
    rows.append(
        (
            "evaluation cycle",
            f"{cycle.seconds * 1000:,.0f} ms (first {cycles[0].seconds * 1000:,.0f} ms)",
            f"{cycle.checks:,} checks, {cycle.queries} queries",
            "< 2 s",
        )
    )
    session = login(panel)
    pages = [
        ("/d/kubernetes-overview", "< 300 ms, < 500 KB"),
        ("/api/status", ""),
        ("/runbooks/HighMemoryUsage", ""),
        ("/runbooks/HighMemoryUsage?pod_filter=x2&pod_namespace=leanvibe-production", ""),
    ]
    for path, target in pages:
        cold, median, size = timed(session, f"{panel}{path}")
        rows.append(
            (
                path if len(path) < 40 else path[:37] + "...",
                f"{median * 1000:,.0f} ms (cold {cold * 1000:,.0f} ms)",
                f"{size / 1024:,.0f} KB",
                target,
            )
        )
        if path == "/api/status":
            body = session.get(f"{panel}{path}", timeout=60).json()
            states: dict[str, int] = {}
            for check in body["checks"]:
                states[check["state"]] = states.get(check["state"], 0) + 1
            print(f"/api/status: {len(body['checks']):,} checks, by state {json.dumps(states)}")
    header = ("what", "time", "size / count", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print()
    for row in [header, *rows]:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
