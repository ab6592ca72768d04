"""How soon a breach is on the panel, against Prometheus's own rule (issue 13): starts the
enterprise ``latency_spike`` on a running stack (`make run`) and polls, every second, for
  - Prometheus: the exported rule's alert LeanVibeHighResponseTime{tenant_tier="enterprise"}
    in ``ALERTS`` (pending, then firing; the rules have ``for: 0s``, so it fires at once);
  - the panel: the check api_p95_latency.enterprise in /api/status (warning or critical);
  - /alerts/: the alert stored from Alertmanager's webhook delivery;
and prints the seconds from the scenario's start to each, and the panel's lag behind
Prometheus (the target: at most one evaluation interval). Ends the scenario afterwards.

    .venv/bin/python bench/detection.py [--timeout 240]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))

from bench.live_viewers import stack_env  # noqa: E402
from bench.panel import PANEL, login  # noqa: E402
from bench.scenarios import post  # noqa: E402

ALERT = "LeanVibeHighResponseTime"
CHECK = "api_p95_latency.enterprise"


def firing_in_prometheus(prometheus: str) -> bool:
    expr = f'ALERTS{{alertname="{ALERT}",tenant_tier="enterprise",alertstate="firing"}}'
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (the stack's own)
        return bool(json.load(answer)["data"]["result"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=240)
    args = parser.parse_args()
    env = stack_env()
    prometheus = env.get("PROMETHEUS_URL", "http://127.0.0.1:9090")
    workload = f"http://127.0.0.1:{env.get('DEMO_WORKLOAD_PORT', '9200')}"
    interval = float(env.get("EVALUATION_INTERVAL", "15"))
    session = login()
    post(f"{workload}/scenarios", None, method="DELETE")
    post(
        f"{workload}/scenarios",
        {"name": "latency_spike", "minutes": 10, "labels": {"tenant_tier": "enterprise"}},
    )
    started = time.monotonic()
    seen: dict[str, float] = {}
    try:
        while len(seen) < 3 and time.monotonic() - started < args.timeout:
            now = time.monotonic() - started
            if "prometheus" not in seen and firing_in_prometheus(prometheus):
                seen["prometheus"] = now
            if "panel" not in seen:
                status = session.get(f"{PANEL}/api/status", timeout=10).json()
                states = [c["state"] for c in status["checks"] if c["threshold"] == CHECK]
                if any(state in ("warning", "critical") for state in states):
                    seen["panel"] = now
            if "alerts" not in seen:
                page = session.get(f"{PANEL}/alerts/", timeout=10).text
                if "enterprise" in page and ALERT in page:
                    seen["alerts"] = now
            time.sleep(1)
    finally:
        post(f"{workload}/scenarios", None, method="DELETE")
    for what, label in (
        ("prometheus", "Prometheus's rule firing"),
        ("panel", "the panel's check in warning"),
        ("alerts", "/alerts/ (Alertmanager's delivery)"),
    ):
        said = f"{seen[what]:5.0f} s" if what in seen else "not within the timeout"
        print(f"{label:40} {said}")
    if "prometheus" in seen and "panel" in seen:
        lag = seen["panel"] - seen["prometheus"]
        verdict = "within" if lag <= interval else "MORE than"
        print(f"panel lag behind Prometheus: {lag:+.0f} s, {verdict} one interval ({interval:g} s)")


if __name__ == "__main__":
    main()
