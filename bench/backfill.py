"""Benchmark: how long the demo's first-start backfill takes (target: under 60 s for 35 days).

.venv/bin/python bench/backfill.py [--days 35]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from demo.backfill import backfill, write_openmetrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=35)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        write_openmetrics(
            [Path(tmp) / "a.om", Path(tmp) / "b.om"],
            time.time() - args.days * 86400,
            time.time() - 30,
            "127.0.0.1:9121",
        )
        generate = time.perf_counter() - started
        samples = sum(1 for p in Path(tmp).glob("*.om") for line in p.open() if line[0] != "#")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        backfill(Path(tmp), days=args.days)
        total = time.perf_counter() - started
        size = sum(
            f.stat().st_size for f in (Path(tmp) / "prometheus" / "data").rglob("*") if f.is_file()
        )
    print(f"backfill of {args.days:g} days: {samples:,} samples")
    print(f"  generating the OpenMetrics text: {generate:.1f} s")
    print(f"  whole backfill (generate + promtool x2): {total:.1f} s  (target < 60 s)")
    print(f"  TSDB blocks written: {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
