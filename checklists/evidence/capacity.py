"""Evidence of performance and capacity: the week's averages and peaks of the performance
metrics against the week before, and the headroom left at the peak."""

from __future__ import annotations

from datetime import datetime

from checklists.evidence.result import ATTENTION, OK, Result, Table, failed, when
from core import formatting
from core.choices import Unit
from integrations import prometheus
from metrics.models import Metric

PERFORMANCE_METRICS = (
    "api_p95_latency",
    "api_error_rate",
    "api_throughput",
    "node_cpu",
    "node_memory",
    "disk_usage",
)


def _by_labels(result: prometheus.QueryResult) -> dict[str, float]:
    return {
        ", ".join(f"{k}={v}" for k, v in sorted(s.labels.items())): s.value for s in result.samples
    }


def performance_capacity(now: datetime) -> Result:
    """7-day average and peak of the performance and capacity metrics, against the week
    before; headroom is what is left of 100 % at the peak."""
    metrics = list(Metric.objects.filter(key__in=PERFORMANCE_METRICS))
    at = now.timestamp()
    jobs: list[prometheus.Job] = []
    for m in metrics:
        jobs += [
            (f"avg_over_time(({m.query})[7d:1h])", at),
            (f"max_over_time(({m.query})[7d:1h])", at),
            (f"avg_over_time(({m.query})[7d:1h] offset 7d)", at),
        ]
    answers = prometheus.instant_queries(jobs)
    failed_answers = [a for a in answers.values() if not a.is_ok]
    if failed_answers and len(failed_answers) == len(answers):
        return failed("Prometheus", failed_answers[0].failure, failed_answers[0].reason)
    rows: list[tuple[str, ...]] = []
    headroom: dict[str, float] = {}
    order = {key: i for i, key in enumerate(PERFORMANCE_METRICS)}
    for m in sorted(metrics, key=lambda m: order[m.key]):
        avg, peak, before = (
            answers[job] for job in jobs[3 * metrics.index(m) : 3 * metrics.index(m) + 3]
        )
        avgs, peaks, befores = _by_labels(avg), _by_labels(peak), _by_labels(before)
        for labels in sorted(avgs):
            change = None
            if befores.get(labels):
                change = (avgs[labels] - befores[labels]) / abs(befores[labels]) * 100
            room = None
            if m.unit == "percent" and labels in peaks and m.key != "api_error_rate":
                room = 100 - peaks[labels]
                headroom[f"{m.key}{{{labels}}}"] = round(room, 1)
            rows.append(
                (
                    m.name + (f" ({labels})" if labels else ""),
                    formatting.reading(avgs[labels], m.unit),
                    formatting.reading(peaks.get(labels), m.unit),
                    formatting.signed_percent(change),
                    formatting.MISSING if room is None else formatting.reading(room, m.unit),
                )
            )
    least = min(headroom.items(), key=lambda kv: kv[1]) if headroom else None
    summary = f"7-day trends of {len(rows)} series" + (
        f"; least headroom {formatting.reading(least[1], Unit.PERCENT)} ({least[0]})."
        if least
        else "."
    )
    return Result(
        ATTENTION if (least and least[1] < 20) or failed_answers else OK,
        summary,
        (("Window", f"7 days to {when(now)}, compared with the 7 days before"),),
        Table(
            ("Series", "7-day average", "7-day peak", "Against the week before", "Headroom"),
            tuple(rows),
        ),
        {"headroom_percent": headroom, "series": len(rows)},
    )
