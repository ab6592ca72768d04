"""``python -m demo``: serve the demo environment, backfill history, start and end scenarios."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

from demo import kube, workload
from demo.backfill import backfill
from demo.model import ClusterSize, SizeError, cluster_size
from demo.scenarios import KINDS

DEFAULT_URL = os.environ.get(
    "DEMO_WORKLOAD_URL", f"http://127.0.0.1:{os.environ.get('DEMO_WORKLOAD_PORT', '9200')}"
)
VAR_DIR = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parent.parent / "var"))


def _request(method: str, url: str, body: dict | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the URL is the user's own option
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
    except urllib.error.URLError as error:
        raise SystemExit(f"cannot reach the demo workload at {url}: {error.reason}") from error


def cmd_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    size = _size()
    env = workload.DemoEnvironment(
        VAR_DIR / "demo" / "state.json", redis_url=args.redis_url, size=size
    )
    env.run_background()
    workload.serve(env, args.host, args.workload_port)
    kube.serve(env.cluster, args.host, args.cluster_port)
    logging.info(
        "workload on :%s, demo cluster on :%s (%s backend pods, %s nodes)",
        args.workload_port,
        args.cluster_port,
        size.pods,
        size.nodes,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    env.stop()
    return 0


def _size() -> ClusterSize:
    try:
        return cluster_size()
    except SizeError as exc:
        raise SystemExit(f"The demo cannot start: {exc}") from exc


def cmd_backfill(args: argparse.Namespace) -> int:
    print(
        backfill(
            VAR_DIR,
            days=args.days,
            redis_exporter_port=args.redis_exporter_port,
            size=_size(),
        )
    )
    return 0


def cmd_scenario(args: argparse.Namespace) -> int:
    labels = dict(pair.split("=", 1) for pair in args.label)
    if args.tier:
        labels["tenant_tier"] = args.tier
    status, body = _request(
        "POST",
        f"{args.url}/scenarios",
        {"name": args.name, "minutes": args.minutes, "labels": labels},
    )
    print(json.dumps(body, indent=2))
    return 0 if status == 201 else 1


def cmd_list(args: argparse.Namespace) -> int:
    _, body = _request("GET", f"{args.url}/scenarios")
    print(json.dumps(body, indent=2))
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    path = f"/scenarios/{args.id}" if args.id else "/scenarios"
    status, body = _request("DELETE", f"{args.url}{path}")
    print(json.dumps(body))
    return 0 if status == 200 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the workload and the demo cluster")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--workload-port", type=int, default=int(os.environ.get("DEMO_WORKLOAD_PORT", "9200"))
    )
    serve.add_argument(
        "--cluster-port", type=int, default=int(os.environ.get("DEMO_K8S_PORT", "8001"))
    )
    serve.add_argument(
        "--redis-url",
        default=os.environ.get("DEMO_CACHE_URL"),
        help="the cache database the workload drives traffic against",
    )
    serve.set_defaults(func=cmd_serve)

    fill = sub.add_parser(
        "backfill",
        help="write history into var/prometheus/data (first run), or the gap since the last",
    )
    fill.add_argument("--days", type=float, default=35)
    fill.add_argument(
        "--redis-exporter-port",
        type=int,
        default=int(os.environ.get("REDIS_EXPORTER_PORT", "9121")),
    )
    fill.set_defaults(func=cmd_backfill)

    scenario = sub.add_parser("scenario", help="start a scenario")
    scenario.add_argument("name", choices=sorted(KINDS))
    scenario.add_argument("--minutes", type=float, default=10)
    scenario.add_argument("--tier", choices=["enterprise", "team", "developer"])
    scenario.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    scenario.add_argument("--url", default=DEFAULT_URL)
    scenario.set_defaults(func=cmd_scenario)

    listing = sub.add_parser("scenarios", help="list active and available scenarios")
    listing.add_argument("--url", default=DEFAULT_URL)
    listing.set_defaults(func=cmd_list)

    stop = sub.add_parser("stop", help="end one scenario, or all")
    stop.add_argument("id", nargs="?", type=int)
    stop.add_argument("--url", default=DEFAULT_URL)
    stop.set_defaults(func=cmd_stop)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
