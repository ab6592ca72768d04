"""The playbook's four dashboards. Each tile has a headline (the value now, its change over the
range, a sparkline) and the stored states of its checks, summed up by state with the worst few
shown when a metric has many series; trends come from range queries run in parallel and cached
for half a minute, with the headlines' instant queries beside them."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django import forms
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from alerts.models import Check, StateChange, Threshold
from core import caching, paging, permissions
from core.choices import WORST_FIRST, Better, State
from dashboards import headline as stat
from dashboards import markers as events
from integrations import prometheus
from metrics import charts
from metrics.models import Dashboard, Metric, Panel

# Range choice: (seconds shown, step in seconds)
RANGES = {
    "1h": (3600, 15),
    "6h": (21600, 60),
    "24h": (86400, 300),
    "7d": (604800, 1800),
    "30d": (2592000, 7200),
    # business reviews look back a quarter: Prometheus keeps 100 days here (stack/programs.py)
    "90d": (7776000, 21600),
}
DEFAULT_RANGE = "6h"


def _get_dashboard_for_user(request: HttpRequest, slug: str) -> Dashboard:
    dashboard = Dashboard.objects.filter(slug=slug).first()
    if dashboard is None:
        raise Http404(f"No dashboard {slug!r}.")
    if not permissions.sees_audience(request.user, dashboard.audience):
        raise permissions.Refused(
            "This dashboard is not for your role.",
            who=[permissions.Role(a).label for a in dashboard.audience if a in permissions.Role],
        )
    return dashboard


@dataclass
class CheckView:
    check: Check
    shown_state: str  # "stale" instead of an old colour
    age_seconds: float | None  # since the last evaluation
    value_age_seconds: float | None = None  # since the last value (for no_data and error)
    scope: str = ""  # the labels that tell it from the checks listed beside it

    def __post_init__(self) -> None:
        self.scope = self.scope or ", ".join((self.check.labels or {}).values())

    @property
    def word(self) -> str:
        """The state in words: colour is never the only signal."""
        return "stale" if self.shown_state == "stale" else State(self.shown_state).label


# A tile lists this many checks; a metric with more (a check per pod) shows its worst ones and
# the counts by state, with every check one click away (``panel_checks``).
WORST_SHOWN = 5
# The order of the counts: worst first, "stale" after the states it hides.
COUNT_ORDER = (*WORST_FIRST, "stale")


@dataclass
class Tile:
    panel: Panel
    checks: list[CheckView] = field(default_factory=list)
    figure: dict[str, Any] | None = None
    chart_error: str = ""
    is_chart_empty: bool = False
    latest: float | None = None
    thresholds: list[Threshold] = field(default_factory=list)
    headline: stat.Headline | None = None
    # (shown state, how many checks are in it), worst first; every check of the metric
    counts: list[tuple[str, int]] = field(default_factory=list)

    @property
    def count_words(self) -> list[tuple[str, int, str]]:
        """(state, count, its word): "3 critical, 2 warning, 495 OK"."""
        return [
            (state, n, "stale" if state == "stale" else State(state).label.lower())
            for state, n in self.counts
        ]

    @property
    def check_total(self) -> int:
        return sum(n for _, n in self.counts)

    @property
    def is_summarised(self) -> bool:
        """More checks than the tile lists: it shows the worst and the counts."""
        return self.check_total > len(self.checks)

    @property
    def is_below_bad(self) -> bool:
        """Low is the bad end (a hit rate): a crowded chart draws the lowest series."""
        return bool(self.panel.metric.better == Better.UP)

    @property
    def series_total(self) -> int:
        meta = (self.figure or {}).get("layout", {}).get("meta") or {}
        return int(meta.get("series_total") or 0)

    @property
    def series_shown(self) -> int:
        meta = (self.figure or {}).get("layout", {}).get("meta") or {}
        return int(meta.get("series_shown") or self.series_total)


def _stale_q() -> Q:
    cutoff = timezone.now() - timedelta(seconds=3 * settings.EVALUATION_INTERVAL)
    return Q(evaluated_at__isnull=True) | Q(evaluated_at__lt=cutoff)


def _worst_first(checks: QuerySet[Check]) -> QuerySet[Check]:
    """Checks worst first: by state (critical, warning, error, ...), then by how far in the
    bad direction their value is, then by name."""
    rank = Case(
        *[When(state=state, then=Value(i)) for i, state in enumerate(WORST_FIRST)],
        default=Value(len(WORST_FIRST)),
        output_field=IntegerField(),
    )
    badness = Case(
        When(threshold__direction="below", then=-F("value")),
        default=F("value"),
        output_field=FloatField(),
    )
    return checks.annotate(rank=rank, badness=badness).order_by(
        "rank", F("badness").desc(nulls_last=True), "signature"
    )


def _check_view(check: Check) -> CheckView:
    now = timezone.now()
    stale_after = timedelta(seconds=3 * settings.EVALUATION_INTERVAL)
    age = (now - check.evaluated_at).total_seconds() if check.evaluated_at else None
    is_stale = check.evaluated_at is None or now - check.evaluated_at > stale_after
    value_age = (now - check.last_value_at).total_seconds() if check.last_value_at else None
    return CheckView(check, "stale" if is_stale else check.state, age, value_age)


def _name_apart(views: list[CheckView]) -> None:
    """Name each listed check by the labels that differ between them: every pod is in the
    same namespace, and "leanvibe-production, leanvibe-backend-…-x2k9p" hides the pod."""
    if len(views) < 2:
        return
    labels = [view.check.labels or {} for view in views]
    keys = {key for own in labels for key in own}
    differing = [k for k in sorted(keys) if len({own.get(k) for own in labels}) > 1]
    for view, own in zip(views, labels, strict=True):
        view.scope = ", ".join(own[k] for k in differing if k in own) or view.scope


def _tiles(panels: list[Panel]) -> list[Tile]:
    """The tiles' checks: counted by state for every metric (one query), and the worst few of
    each listed (one query, a window over the metrics), so a tile costs the same at 5 pods
    as at 1,000."""
    metric_ids = [p.metric_id for p in panels]
    in_panels = Check.objects.filter(threshold__metric__in=metric_ids)
    counts: dict[int, dict[str, int]] = {}
    for metric_id, state, total, stale in (
        in_panels.values_list("threshold__metric_id", "state")
        .annotate(total=Count("pk"), stale=Count("pk", filter=_stale_q()))
        .order_by()
    ):
        own = counts.setdefault(metric_id, {})
        own[state] = own.get(state, 0) + total - stale
        if stale:
            own["stale"] = own.get("stale", 0) + stale
    ranked = _worst_first(in_panels).annotate(
        row=Window(
            RowNumber(),
            partition_by=[F("threshold__metric_id")],
            order_by=[F("rank").asc(), F("badness").desc(nulls_last=True), F("signature").asc()],
        )
    )
    by_metric: dict[int, list[CheckView]] = {}
    for check in ranked.filter(row__lte=WORST_SHOWN).select_related("threshold__alert"):
        by_metric.setdefault(check.threshold.metric_id, []).append(_check_view(check))
    for views in by_metric.values():
        _name_apart(views)
    thresholds: dict[int, list[Threshold]] = {}
    for threshold in Threshold.objects.filter(metric__in=metric_ids):
        thresholds.setdefault(threshold.metric_id, []).append(threshold)
    return [
        Tile(
            panel,
            by_metric.get(panel.metric_id, []),
            thresholds=thresholds.get(panel.metric_id, []),
            counts=[
                (state, n)
                for state in COUNT_ORDER
                if (n := counts.get(panel.metric_id, {}).get(state, 0))
            ],
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


@dataclass(frozen=True)
class ChartData:
    """What a tile shows from Prometheus, built once per half-minute and shared (cached)."""

    figure: dict[str, Any] | None
    error: str
    is_empty: bool
    latest: float | None
    headline: stat.Headline | None = None


# Seconds a page waits for the charts another page is building before building them itself.
CHART_WAIT = 1.5


@dataclass
class _Trends:
    """A dashboard's trends for a range: from the cache, or being fetched. The charts of a
    dashboard and range are the same for everyone, so they are built once per half-minute
    and shared through the cache."""

    key: str
    range_key: str
    start: float
    end: float
    cached: list[ChartData] | None = None
    results: Callable[[], list[prometheus.RangeResult]] | None = None
    rollouts: Callable[[], list[list[events.Marker]]] | None = None
    # the headlines' instant queries: each panel's query now and a range ago, in turn
    instants: Callable[[], list[prometheus.QueryResult]] | None = None
    # another page is building these charts (it claimed them): wait for its answer
    builder_elsewhere: bool = False
    queries: list[Callable[[], prometheus.RangeResult]] = field(default_factory=list)
    instant_queries: list[Callable[[], prometheus.QueryResult]] = field(default_factory=list)

    def start_queries(self) -> None:
        self.results = prometheus.started(self.queries)
        self.instants = prometheus.started(self.instant_queries)
        self.rollouts = prometheus.started([events.rollout_markers])

    def add_to(self, tiles: list[Tile]) -> None:
        charts_data = self.cached
        if charts_data is None and self.builder_elsewhere:
            charts_data = caching.wait_for(self.key, prometheus.time_left(CHART_WAIT))
            if charts_data is None:  # it took too long: build them here
                self.start_queries()
        if charts_data is None:
            assert self.results and self.rollouts and self.instants
            # the state history and the records behind the markers are read while
            # Prometheus and the cluster answer
            bands = _state_bands(tiles, self.start, self.end)
            metric_ids = [tile.panel.metric_id for tile in tiles]
            results = self.results()
            instants = self.instants()
            [rollouts] = self.rollouts()
            markers = events.markers_by_metric(metric_ids, self.start, self.end, rollouts)
            charts_data = [
                _chart(
                    tile,
                    (results[2 * i], results[2 * i + 1]),
                    bands.get(tile.panel.metric_id, []),
                    markers.get(tile.panel.metric_id, []),
                    _headline(
                        tile,
                        self.range_key,
                        self.end,
                        results[2 * i],
                        (instants[2 * i], instants[2 * i + 1]),
                    ),
                )
                for i, tile in enumerate(tiles)
            ]
            # a chart Prometheus failed to answer is asked again soon, not shared for the
            # whole half-minute
            failed = any(data.error for data in charts_data)
            caching.put(self.key, charts_data, 5 if failed else prometheus.RANGE_CACHE_SECONDS)
        for tile, data in zip(tiles, charts_data, strict=True):
            tile.figure, tile.chart_error, tile.is_chart_empty = (
                data.figure,
                data.error,
                data.is_empty,
            )
            tile.latest, tile.headline = data.latest, data.headline


# Points of a chart whose metric is grouped (by pod, node, tier): 120 across the range.
CROWDED_POINTS = 120


def _no_others() -> prometheus.RangeResult:
    return prometheus.RangeResult("")


def _range_queries(
    metric: Metric, start: float, end: float, step: int
) -> tuple[Callable[[], prometheus.RangeResult], Callable[[], prometheus.RangeResult]]:
    """A panel's two range queries: the series it draws, and the worst of the rest at each
    time (the chart's "others" line). A metric grouped by pod or node may answer 1,000
    series: Prometheus picks the ``charts.MAX_SERIES`` worst itself (the worst at the range's
    end, ``@`` it, so the set is the same at every step and evaluated once) and folds the
    rest into one series, so the answer is a dozen series instead of 12 MB of them. Ranking
    by the peak over the range instead cost a subquery over every pod and step, past the
    page's budget at 1,000 pods; a pod that peaked earlier still shows in the others line."""
    if not metric.group_by:
        return partial(prometheus.range_query, metric.query, start, end, step), _no_others
    # Prometheus evaluates the query over every pod at every step to find and fold them:
    # at most CROWDED_POINTS steps keep that inside a page's budget at 1,000 pods
    step = max(step, math.ceil((end - start) / CROWDED_POINTS))
    by = ", ".join(metric.group_by)
    pick, fold = ("bottomk", "min") if metric.better == Better.UP else ("topk", "max")
    aligned = step * (end // step)  # range_query's own end
    # "@" takes a selector or a subquery: a one-step subquery is the value at that moment
    now_value = f"last_over_time(({metric.query})[{step}s:{step}s] @ {aligned:.0f})"
    worst = f"{pick}({charts.MAX_SERIES}, {now_value})"
    drawn = f"({metric.query}) and on({by}) {worst}"
    rest = f"{fold}(({metric.query}) unless on({by}) {worst})"
    return (
        partial(prometheus.range_query, drawn, start, end, step),
        partial(prometheus.range_query, rest, start, end, step),
    )


def _start_trends(board: Dashboard, panels: list[Panel], range_key: str) -> _Trends:
    """The trends from the cache, or their range queries started on the query threads (in
    parallel, while the page reads the database)."""
    seconds, step = RANGES[range_key]
    end = time.time()
    key = f"charts:{board.slug}:{range_key}:{int(end // prometheus.RANGE_CACHE_SECONDS)}"
    trends = _Trends(key, range_key, end - seconds, end, cached=caching.get(key))
    if trends.cached is None:
        trends.queries = [
            query
            for panel in panels
            for query in _range_queries(panel.metric, end - seconds, end, step)
        ]
        trends.instant_queries = [
            partial(prometheus.instant_query, panel.metric.query, at=at)
            for panel in panels
            for at in (end, end - seconds)
        ]
        # Many viewers reach a new half-minute at once: one page builds the charts, the others
        # wait for them, so Prometheus is asked once, however many watch (bench/live_viewers.py).
        if caching.claim(f"{key}:claim", prometheus.RANGE_CACHE_SECONDS):
            trends.start_queries()
        else:
            trends.builder_elsewhere = True
    return trends


def _state_bands(
    tiles: list[Tile], start: float, end: float
) -> dict[int, list[tuple[str, float, float]]]:
    """Per metric, the stretches of the range its checks spent in warning or critical, from
    the stored state history: every check of the metric, not only the few its tile lists
    (a pod now OK may have been critical an hour ago). Two queries for the whole dashboard:
    the changes in the range, and the checks in breach now (a breach that began before the
    range and still holds has no change inside it)."""
    metric_ids = [tile.panel.metric_id for tile in tiles]
    changes: dict[int, list[tuple[float, str, str]]] = {}
    metric_of: dict[int, int] = {}
    for check_id, metric_id, at, from_state, to_state in (
        StateChange.objects.filter(
            check_obj__threshold__metric__in=metric_ids, at__gte=_aware(start)
        )
        .order_by("at")
        .values_list(
            "check_obj_id", "check_obj__threshold__metric_id", "at", "from_state", "to_state"
        )
    ):
        changes.setdefault(check_id, []).append((at.timestamp(), from_state, to_state))
        metric_of[check_id] = metric_id
    bands: dict[int, list[tuple[str, float, float]]] = {}
    for check_id, own in changes.items():
        bands.setdefault(metric_of[check_id], []).extend(
            charts.breach_bands(own[0][1], [(at, to) for at, _, to in own], start, end)
        )
    for check_id, metric_id, state in Check.objects.filter(
        threshold__metric__in=metric_ids, state__in=State.BREACHED
    ).values_list("pk", "threshold__metric_id", "state"):
        if check_id in changes:
            continue
        bands.setdefault(metric_id, []).extend(charts.breach_bands(state, [], start, end))
    return {metric: charts.merge_bands(found) for metric, found in bands.items()}


def _aware(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _headline(
    tile: Tile,
    range_key: str,
    at: float,
    trend: prometheus.RangeResult,
    answers: tuple[prometheus.QueryResult, prometheus.QueryResult],
) -> stat.Headline:
    """The tile's headline from its instant answers at ``at`` and a range before."""
    now, before = answers
    metric = tile.panel.metric
    return stat.headline(
        unit=metric.unit,
        better=metric.better,
        group_by=metric.group_by,
        now=now,
        before=before,
        trend=trend.series if trend.is_ok else (),
        range_key=range_key,
        at=at,
    )


def _chart(
    tile: Tile,
    answers: tuple[prometheus.RangeResult, prometheus.RangeResult],
    bands: list[tuple[str, float, float]],
    markers: Sequence[events.Marker] = (),
    headline: stat.Headline | None = None,
) -> ChartData:
    """The tile's figure (or why there is none), the latest value of a single series, and
    its headline. ``answers`` holds the drawn series and the rest folded into one
    (``_range_queries``); the headline's answer now says how many series there are."""
    result, rest = answers
    if not result.is_ok:
        return ChartData(None, f"{result.failure}: {result.reason}", False, None, headline)
    if not any(series.points for series in result.series):
        return ChartData(None, "", True, None, headline)
    # the bad end picks which series a crowded chart draws (the highest, or the lowest where
    # a rise is good news) and what its "others" line follows, as ``_range_queries`` asks
    direction = "below" if tile.is_below_bad else "above"
    figure = charts.trend_figure(
        result,
        tile.panel.metric.unit,
        _threshold_lines(tile.thresholds),
        bands,
        [(m.at, m.kind, m.text, m.url) for m in markers],
        direction=direction,
        others=rest.series[0] if rest.is_ok and rest.series else None,
        series_total=headline.series if headline is not None else None,
    )
    latest = None
    if len(result.series) == 1 and result.series[0].points:
        latest = result.series[0].points[-1][1]
    return ChartData(figure, "", False, latest, headline)


RETENTION_KEY = "prometheus:retention"
RETENTION_CACHE_SECONDS = 600


def _retention() -> str:
    """How long Prometheus keeps samples ("100d"), as it says itself, asked once every ten
    minutes; "" when it does not say (VictoriaMetrics has no runtime info) or cannot."""
    cached = caching.get(RETENTION_KEY)
    if cached is not None:
        return str(cached)
    answer = prometheus.runtime_info(timeout=prometheus.time_left(1.0))
    data = answer.data if answer.is_ok and isinstance(answer.data, dict) else {}
    retention = str(data.get("storageRetention") or "")
    caching.put(RETENTION_KEY, retention, RETENTION_CACHE_SECONDS if answer.is_ok else 30)
    return retention


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
        "retention": _retention(),
        "generated_at": timezone.now(),
    }
    # A live refresh (static/js/live.js) asks for the whole page, since the navigation's counts
    # and the banner refresh with the board; the charts' data every viewer shares through the
    # cache for half a minute.
    return render(request, "dashboards/dashboard.html", context)


SHOWN_STATES = [*((s, State(s).label) for s in WORST_FIRST), ("stale", "Stale")]
# Series of a metric without thresholds, read from one instant query for the table: a
# Prometheus answer past this is cut, and the page says so.
SERIES_MAX = 20_000


class PanelTableForm(paging.PageForm):
    """The filters of a panel's full table: a state and text in the series' labels."""

    state = forms.ChoiceField(
        required=False,
        choices=[("", "any"), *SHOWN_STATES],
        error_messages={
            "invalid_choice": "State must be one of: " + ", ".join(s for s, _ in SHOWN_STATES)
        },
    )
    q = forms.CharField(
        required=False,
        max_length=100,
        strip=True,
        label="Labels containing",
        error_messages={"max_length": "Search at most 100 characters of a label."},
    )


@dataclass(frozen=True)
class SeriesRow:
    name: str
    labels: dict[str, str]
    value: float


@require_GET
def panel_table(request: HttpRequest, slug: str, metric: str) -> HttpResponse:
    """Every check (or, for a metric without thresholds, every series) behind a tile, worst
    first, filtered by state and by text in the labels, a page at a time: what a tile that
    shows only the worst few of 1,000 pods links to."""
    board = _get_dashboard_for_user(request, slug)
    panel = board.panels.select_related("metric").filter(metric__key=metric).first()
    if panel is None:
        raise Http404(f"No panel of {metric!r} on this dashboard.")
    form = PanelTableForm(request.GET)
    has_thresholds = Threshold.objects.filter(metric=panel.metric).exists()
    context: dict[str, Any] = {
        "dashboard": board,
        "panel": panel,
        "form": form,
        "states": SHOWN_STATES,
        "page_sizes": paging.PAGE_SIZES,
        "has_thresholds": has_thresholds,
        "generated_at": timezone.now(),
    }
    if not form.is_valid():
        return render(request, "dashboards/panel_table.html", context, status=400)
    data = form.cleaned_data
    if has_thresholds:
        checks = Check.objects.filter(threshold__metric=panel.metric).select_related(
            "threshold__alert"
        )
        if data["q"]:
            # in the labels' values only (the signature is key{name="value",…}): "pod" must
            # not match every check by the label's name
            checks = checks.filter(signature__iregex=f'="[^"]*{re.escape(data["q"])}')
        if data["state"] == "stale":
            checks = checks.filter(_stale_q())
        elif data["state"]:
            checks = checks.filter(state=data["state"]).exclude(_stale_q())
        page = form.paginate(_worst_first(checks))
        context.update(page=page, rows=[_check_view(check) for check in page.object_list])
    else:
        answer = prometheus.instant_query(panel.metric.query)
        rows = [
            SeriesRow(stat.series_name(s.labels, panel.metric.group_by), s.labels, s.value)
            for s in answer.samples[:SERIES_MAX]
        ]
        if data["q"]:
            needle = data["q"].lower()
            rows = [r for r in rows if any(needle in v.lower() for v in r.labels.values())]
        rows.sort(key=lambda r: (-r.value, r.name))  # highest first
        paginator: Paginator[SeriesRow] = Paginator(
            rows, data.get("per_page") or paging.DEFAULT_PER_PAGE
        )
        page = paginator.get_page(data.get("page") or 1)
        context.update(
            page=page,
            rows=page.object_list,
            series_error=f"{answer.failure}: {answer.reason}" if not answer.is_ok else "",
            series_cut=len(answer.samples) > SERIES_MAX,
        )
    return render(request, "dashboards/panel_table.html", context)
