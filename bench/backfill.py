"""Benchmark: how long the demo's first-start backfill takes (target: under 60 s for 35 days).

.venv/bin/python bench/backfill.py [--days 35]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from demo.backfill import backfill, simulate, write_openmetrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=35)
    args = parser.parse_args()
    started = time.perf_counter()
    history = simulate(time.time() - args.days * 86400, time.time() - 30, "127.0.0.1:9121")
    simulated = time.perf_counter() - started
    samples = sum(len(column) for column in history.series.values())
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        write_openmetrics(history, [Path(tmp) / "a.om", Path(tmp) / "b.om"])
        written = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        backfill(Path(tmp), days=args.days)
        total = time.perf_counter() - started
        blocks = Path(tmp) / "prometheus" / "data"
        size = sum(f.stat().st_size for f in blocks.rglob("*") if f.is_file())
    print(f"backfill of {args.days:g} days: {samples:,} samples in {len(history.series)} series")
    print(f"  simulating (the demo may start after this): {simulated:.1f} s")
    print(f"  writing the OpenMetrics text: {written:.1f} s")
    print(f"  whole backfill (simulate + write + promtool x2): {total:.1f} s  (target < 60 s)")
    print(f"  TSDB blocks written: {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
