"""The playbook's four dashboards. Status tiles read the stored states of the checks (no
Prometheus round trip per tile) and refresh with htmx; trends come from range queries run in
parallel and cached for half a minute."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from alerts.models import Check, StateChange, Threshold
from core import caching, permissions
from core.choices import State
from dashboards import markers as events
from integrations import prometheus
from metrics import charts
from metrics.models import Dashboard, Panel

# Range choice: (seconds shown, step in seconds)
RANGES = {
    "1h": (3600, 15),
    "6h": (21600, 60),
    "24h": (86400, 300),
    "7d": (604800, 1800),
    "30d": (2592000, 7200),
}
DEFAULT_RANGE = "6h"


def _get_dashboard_for_user(request: HttpRequest, slug: str) -> Dashboard:
    dashboard = Dashboard.objects.filter(slug=slug).first()
    if dashboard is None:
        raise Http404(f"No dashboard {slug!r}.")
    if not permissions.sees_audience(request.user, dashboard.audience):
        raise PermissionDenied("This dashboard is not for your role.")
    return dashboard


@dataclass
class CheckView:
    check: Check
    shown_state: str  # "stale" instead of an old colour
    age_seconds: float | None  # since the last evaluation
    value_age_seconds: float | None = None  # since the last value (for no_data and error)

    @property
    def word(self) -> str:
        """The state in words: colour is never the only signal."""
        return "stale" if self.shown_state == "stale" else State(self.shown_state).label


@dataclass
class Tile:
    panel: Panel
    checks: list[CheckView] = field(default_factory=list)
    figure: dict[str, Any] | None = None
    chart_error: str = ""
    is_chart_empty: bool = False
    latest: float | None = None
    thresholds: list[Threshold] = field(default_factory=list)


def _tiles(panels: list[Panel]) -> list[Tile]:
    checks = (
        Check.objects.filter(threshold__metric__in=[p.metric_id for p in panels])
        .select_related("threshold__alert")
        .order_by("signature")
    )
    now = timezone.now()
    stale_after = timedelta(seconds=3 * settings.EVALUATION_INTERVAL)
    by_metric: dict[int, list[CheckView]] = {}
    for check in checks:
        age = (now - check.evaluated_at).total_seconds() if check.evaluated_at else None
        is_stale = check.evaluated_at is None or now - check.evaluated_at > stale_after
        value_age = (now - check.last_value_at).total_seconds() if check.last_value_at else None
        by_metric.setdefault(check.threshold.metric_id, []).append(
            CheckView(check, "stale" if is_stale else check.state, age, value_age)
        )
    thresholds: dict[int, list[Threshold]] = {}
    for threshold in Threshold.objects.filter(metric__in=[p.metric_id for p in panels]):
        thresholds.setdefault(threshold.metric_id, []).append(threshold)
    return [
        Tile(
            panel,
            by_metric.get(panel.metric_id, []),
            thresholds=thresholds.get(panel.metric_id, []),
        )
        for panel in panels
    ]


def _threshold_lines(thresholds: list[Threshold]) -> list[charts.ThresholdLine]:
    lines = []
    for threshold in thresholds:
        if threshold.relative_to:
            continue  # a percent change, not a level of the plotted value
        for level, value in (("warning", threshold.warning), ("critical", threshold.critical)):
            if value is not None:
                lines.append(charts.ThresholdLine(level, value, dict(threshold.scope)))
    return lines


ChartData = tuple[Any, str, bool, float | None]
# Seconds a page waits for the charts another page is building before building them itself.
CHART_WAIT = 1.5


@dataclass
class _Trends:
    """A dashboard's trends for a range: from the cache, or being fetched. The charts of a
    dashboard and range are the same for everyone, so they are built once per half-minute
    and shared through the cache."""

    key: str
    start: float
    end: float
    cached: list[ChartData] | None = None
    results: Callable[[], list[prometheus.RangeResult]] | None = None
    rollouts: Callable[[], list[list[events.Marker]]] | None = None
    # another page is building these charts (it claimed them): wait for its answer
    builder_elsewhere: bool = False
    queries: list[Callable[[], prometheus.RangeResult]] = field(default_factory=list)

    def add_to(self, tiles: list[Tile]) -> None:
        charts_data = self.cached
        if charts_data is None and self.builder_elsewhere:
            charts_data = caching.wait_for(self.key, prometheus.time_left(CHART_WAIT))
            if charts_data is None:  # it took too long: build them here
                self.results = prometheus.started(self.queries)
                self.rollouts = prometheus.started([events.rollout_markers])
        if charts_data is None:
            assert self.results is not None and self.rollouts is not None
            # the state history and the records behind the markers are read while
            # Prometheus and the cluster answer
            bands = _state_bands(tiles, self.start, self.end)
            metric_ids = [tile.panel.metric_id for tile in tiles]
            results = self.results()
            [rollouts] = self.rollouts()
            markers = events.markers_by_metric(metric_ids, self.start, self.end, rollouts)
            charts_data = [
                _chart(
                    tile,
                    result,
                    bands.get(tile.panel.metric_id, []),
                    markers.get(tile.panel.metric_id, []),
                )
                for tile, result in zip(tiles, results, strict=True)
            ]
            caching.put(self.key, charts_data, prometheus.RANGE_CACHE_SECONDS)
        for tile, (figure, error, is_empty, latest) in zip(tiles, charts_data, strict=True):
            tile.figure, tile.chart_error, tile.is_chart_empty, tile.latest = (
                figure,
                error,
                is_empty,
                latest,
            )


def _start_trends(board: Dashboard, panels: list[Panel], range_key: str) -> _Trends:
    """The trends from the cache, or their range queries started on the query threads (in
    parallel, while the page reads the database)."""
    seconds, step = RANGES[range_key]
    end = time.time()
    key = f"charts:{board.slug}:{range_key}:{int(end // prometheus.RANGE_CACHE_SECONDS)}"
    trends = _Trends(key, end - seconds, end, cached=caching.get(key))
    if trends.cached is None:
        trends.queries = [
            partial(prometheus.range_query, panel.metric.query, end - seconds, end, step)
            for panel in panels
        ]
        # Many viewers reach a new half-minute at once: one page builds the charts, the others
        # wait for them, so Prometheus is asked once, however many watch (bench/live_viewers.py).
        if caching.claim(f"{key}:claim", prometheus.RANGE_CACHE_SECONDS):
            trends.results = prometheus.started(trends.queries)
            trends.rollouts = prometheus.started([events.rollout_markers])
        else:
            trends.builder_elsewhere = True
    return trends


def _state_bands(
    tiles: list[Tile], start: float, end: float
) -> dict[int, list[tuple[str, float, float]]]:
    """Per metric, the stretches of the range its checks spent in warning or critical, from
    the stored state history (one query for the whole dashboard)."""
    checks = {item.check.pk: item.check for tile in tiles for item in tile.checks}
    changes: dict[int, list[tuple[float, str, str]]] = {}
    for check_id, at, from_state, to_state in (
        StateChange.objects.filter(check_obj__in=list(checks), at__gte=_aware(start))
        .order_by("at")
        .values_list("check_obj_id", "at", "from_state", "to_state")
    ):
        changes.setdefault(check_id, []).append((at.timestamp(), from_state, to_state))
    bands: dict[int, list[tuple[str, float, float]]] = {}
    for check_id, check in checks.items():
        own = changes.get(check_id, [])
        state_at_start = own[0][1] if own else check.state
        bands.setdefault(check.threshold.metric_id, []).extend(
            charts.breach_bands(state_at_start, [(at, to) for at, _, to in own], start, end)
        )
    return {metric: charts.merge_bands(found) for metric, found in bands.items()}


def _aware(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _chart(
    tile: Tile,
    result: prometheus.RangeResult,
    bands: list[tuple[str, float, float]],
    markers: Sequence[events.Marker] = (),
) -> tuple[Any, str, bool, float | None]:
    """(figure, error, is the range empty, latest value of a single series)."""
    if not result.is_ok:
        return None, f"{result.failure}: {result.reason}", False, None
    if not any(series.points for series in result.series):
        return None, "", True, None
    figure = charts.trend_figure(
        result,
        tile.panel.metric.unit,
        _threshold_lines(tile.thresholds),
        bands,
        [(m.at, m.kind, m.text, m.url) for m in markers],
    )
    latest = None
    if len(result.series) == 1 and result.series[0].points:
        latest = result.series[0].points[-1][1]
    return figure, "", False, latest


@require_GET
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    board = _get_dashboard_for_user(request, slug)
    range_key = request.GET.get("range", DEFAULT_RANGE)
    if range_key not in RANGES:
        range_key = DEFAULT_RANGE
    panels = list(board.panels.select_related("metric"))
    trends = _start_trends(board, panels, range_key)
    tiles = _tiles(panels)
    trends.add_to(tiles)
    context = {
        "dashboard": board,
        "tiles": tiles,
        "range": range_key,
        "ranges": list(RANGES),
        "generated_at": timezone.now(),
    }
    # A live refresh (static/js/live.js) asks for the whole page, since the navigation's counts
    # and the banner refresh with the board; the charts' data every viewer shares through the
    # cache for half a minute.
    return render(request, "dashboards/dashboard.html", context)
