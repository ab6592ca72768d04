"""Benchmark of issue 5: a 30-day backtest of one threshold (target: 2 s or less), against a
running stack (`make run`, 35 days of demo history).

    .venv/bin/python bench/backtest.py [THRESHOLD_KEY ...]

For every threshold (or those named): the backtest with a cold cache (Prometheus answers every
piece of the 30 days) and warm (the change form has already backtested the current levels as it
opened, and the admin now types a proposal), and how much of the cold time was Prometheus.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from panel import setup_django


def main() -> None:
    setup_django()
    from django.core.cache import cache

    from alerts.evaluation import Rule
    from alerts.models import Threshold
    from tuning import backtest

    keys = sys.argv[1:]
    thresholds = Threshold.objects.select_related("metric").order_by("key")
    if keys:
        thresholds = thresholds.filter(key__in=keys)
    colds, warms = [], []
    print(f"{'threshold':32} {'cold':>7} {'fetch':>7} {'warm':>7}  series  step")
    for threshold in thresholds:
        rule = threshold.rule()
        proposed = Rule(
            rule.direction, rule.warning * 1.1, rule.critical, rule.for_warning, rule.for_critical
        )
        cache.clear()
        end = time.time()
        started = time.perf_counter()
        backtest._fetch(threshold, end - 30 * 86400, end, backtest.backtest_step())
        fetch = time.perf_counter() - started
        cache.clear()
        cold = backtest.backtest(threshold, proposed)
        warm = backtest.backtest(threshold, proposed)
        if cold.error:
            print(f"{threshold.key:32} error: {cold.error}")
            continue
        colds.append((cold.seconds, threshold.key))
        warms.append(warm.seconds)
        print(
            f"{threshold.key:32} {cold.seconds:6.2f}s {fetch:6.2f}s {warm.seconds:6.2f}s"
            f"  {len(cold.series):6}  {cold.step}s"
        )
    worst = max(colds)
    print(
        f"30-day backtest of one threshold: median {statistics.median(c for c, _ in colds):.2f} s "
        f"cold, {statistics.median(warms):.2f} s warm; worst {worst[0]:.2f} s ({worst[1]}); "
        f"{sum(c <= 2 for c, _ in colds)} of {len(colds)} within the 2 s target cold"
    )


if __name__ == "__main__":
    main()
