"""The SLA report: per tenant tier and month, the share of evaluation intervals with p95
latency within the tier's warning threshold, error-rate compliance, availability, time spent
in warning and critical, and the incidents, beside the month before.

Latency and error rate come from Prometheus range queries at one point per 5 minutes (the
rate window of the playbook's queries, so points are independent intervals); intervals
without traffic are left out and counted as such. Availability is the share of requests not
answered with a 5xx over the month. Time in warning and critical comes from the panel's own
state history (``StateChange``), which starts when the panel started evaluating.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from alerts.models import StateChange, Threshold
from checklists.choices import Cadence
from checklists.periods import local_zone, next_start
from core.choices import Severity, State
from firing.models import FiringAlert
from integrations import prometheus

STEP = 300.0
# The commitment: p95 within the tier's warning threshold in this share of the intervals.
TARGET = 0.99
LATENCY_QUERY = (
    "histogram_quantile(0.95, sum by (le, tenant_tier) "
    "(rate(http_request_duration_seconds_bucket[5m])))"
)
ERROR_QUERY = (
    'sum by (tenant_tier) (rate(http_requests_total{status=~"5.."}[5m])) '
    "/ sum by (tenant_tier) (rate(http_requests_total[5m])) * 100"
)
AVAILABILITY_QUERY = (
    'sum by (tenant_tier) (increase(http_requests_total{{status!~"5.."}}[{seconds}s])) '
    "/ sum by (tenant_tier) (increase(http_requests_total[{seconds}s]))"
)


@dataclass
class TierSla:
    tier: str
    warning: float  # seconds, the tier's p95 warning threshold
    latency_share: float | None = None
    latency_intervals: int = 0
    error_share: float | None = None
    availability: float | None = None
    warning_seconds: float = 0.0
    critical_seconds: float = 0.0
    incidents: list[dict[str, str]] = field(default_factory=list)
    previous: TierSla | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("previous", None)
        return out

    def change(self, name: str) -> float | None:
        """This month minus the previous month, in percentage points."""
        if self.previous is None:
            return None
        now, before = getattr(self, name), getattr(self.previous, name)
        return None if now is None or before is None else (now - before) * 100


@dataclass
class SlaReport:
    month: date
    start: datetime
    end: datetime  # exclusive; ``now`` for the running month
    tiers: list[TierSla]
    error: str = ""
    incidents: list[dict[str, str]] = field(default_factory=list)
    is_partial: bool = False

    @property
    def intervals(self) -> int:
        """How many 5-minute intervals the month (so far) has."""
        return max(0, int((self.end - self.start).total_seconds() // STEP))

    @property
    def label(self) -> str:
        return f"{self.month:%B %Y}" + (" (so far)" if self.is_partial else "")


def month_bounds(month: date, now: datetime) -> tuple[datetime, datetime, bool]:
    zone = local_zone()
    start = datetime.combine(month, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(next_start(Cadence.MONTHLY, month), datetime.min.time(), tzinfo=zone)
    return start, min(end, now), end > now


def _tiers() -> list[tuple[str, float]]:
    rows = Threshold.objects.filter(metric__key="api_p95_latency").order_by("warning")
    tiers = [(str(t.scope.get("tenant_tier", "")), t.warning) for t in rows]
    return [(tier, warning) for tier, warning in tiers if tier]


def _shares(
    result: prometheus.RangeResult, limits: dict[str, float]
) -> dict[str, tuple[float, int]]:
    out = {}
    for series in result.series:
        tier = series.labels.get("tenant_tier", "")
        if tier not in limits or not series.points:
            continue
        within = sum(1 for _, v in series.points if v <= limits[tier])
        out[tier] = (within / len(series.points), len(series.points))
    return out


def _time_in_states(threshold_key: str, start: datetime, end: datetime) -> tuple[float, float]:
    changes: list[dict[str, Any]] = list(
        StateChange.objects.filter(check_obj__threshold__key=threshold_key, at__lt=end)
        .filter(at__gte=start - timedelta(days=40))
        .order_by("check_obj_id", "at")
        .values("check_obj_id", "at", "to_state")  # type: ignore[arg-type]
    )
    seconds = {State.WARNING: 0.0, State.CRITICAL: 0.0}
    by_check: dict[int, list[dict[str, Any]]] = {}
    for change in changes:
        by_check.setdefault(change["check_obj_id"], []).append(change)
    for history in by_check.values():
        for current, following in zip(history, [*history[1:], None], strict=True):
            if current["to_state"] not in seconds:
                continue
            begin = max(current["at"], start)
            finish = min(following["at"] if following else end, end)
            if finish > begin:
                seconds[current["to_state"]] += (finish - begin).total_seconds()
    return seconds[State.WARNING], seconds[State.CRITICAL]


def _incidents(start: datetime, end: datetime) -> list[dict[str, str]]:
    return [
        {
            "alert": f.alertname,
            "severity": f.severity,
            "tier": str(f.labels.get("tenant_tier", "")),
            "started": f"{timezone.localtime(f.starts_at):%Y-%m-%d %H:%M}",
            "ended": f"{timezone.localtime(f.ends_at):%Y-%m-%d %H:%M}" if f.ends_at else "firing",
        }
        for f in FiringAlert.objects.filter(
            starts_at__gte=start, starts_at__lt=end, severity=Severity.CRITICAL
        ).order_by("starts_at")
    ]


def _month(month: date, now: datetime) -> SlaReport:
    start, end, is_partial = month_bounds(month, now)
    tiers = _tiers()
    report = SlaReport(month, start, end, [TierSla(t, w) for t, w in tiers], is_partial=is_partial)
    if end <= start:
        return report
    limits = dict(tiers)
    error_limit = Threshold.objects.filter(key="api_error_rate").first()
    error_warning = error_limit.warning if error_limit else 1.0
    seconds = int((end - start).total_seconds())
    latency, errors = prometheus.range_queries_chunked(
        [
            (LATENCY_QUERY, start.timestamp(), end.timestamp(), STEP),
            (ERROR_QUERY, start.timestamp(), end.timestamp(), STEP),
        ],
        cache_seconds=600,
    )
    availability = prometheus.instant_query(
        AVAILABILITY_QUERY.format(seconds=seconds), at=end.timestamp()
    )
    failed = next((r for r in (latency, errors, availability) if not r.is_ok), None)
    if failed is not None:
        report.error = f"{failed.failure}: {failed.reason}"
        return report
    latency_shares = _shares(latency, limits)
    error_shares = _shares(errors, {t: error_warning for t in limits})
    available = {s.labels.get("tenant_tier", ""): s.value for s in availability.samples}
    report.incidents = _incidents(start, end)
    for tier in report.tiers:
        if tier.tier in latency_shares:
            tier.latency_share, tier.latency_intervals = latency_shares[tier.tier]
        if tier.tier in error_shares:
            tier.error_share = error_shares[tier.tier][0]
        tier.availability = available.get(tier.tier)
        tier.warning_seconds, tier.critical_seconds = _time_in_states(
            f"api_p95_latency.{tier.tier}", start, end
        )
        tier.incidents = [i for i in report.incidents if i["tier"] in ("", tier.tier)]
    return report


def build_report(month: date, *, now: datetime | None = None) -> SlaReport:
    """The month's report with the previous month attached to each tier for comparison."""
    now = now or timezone.now()
    report = _month(month, now)
    previous = _month((month - timedelta(days=1)).replace(day=1), now)
    by_tier = {t.tier: t for t in previous.tiers}
    for tier in report.tiers:
        tier.previous = by_tier.get(tier.tier)
    return report
