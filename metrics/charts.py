"""Plotly figures for the dashboards: pure functions from query results to figures.

Figures are built as plotly's JSON structure directly (what ``Figure.to_plotly_json()`` would
give): building ``plotly.graph_objects`` validates every property and cost ~40 ms a chart,
which dominated a dashboard's server time. Tests load each figure into ``go.Figure`` to prove it
is valid.
"""

from __future__ import annotations

import html
import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from core import formatting, units
from integrations.prometheus import RangeResult, Series


@dataclass(frozen=True)
class ThresholdLine:
    """A threshold's level drawn on a trend: in the base unit, for the series its scope keeps
    (labels the threshold is kept to; empty for all series)."""

    level: str  # "warning" or "critical"
    value: float
    scope: dict[str, str] = field(default_factory=dict)
    name: str = ""  # the label drawn beside it, when not the level and the scope ("current")

    @property
    def label(self) -> str:
        return self.name or f"{self.level} {', '.join(self.scope.values())}".strip()


LEVEL_COLOURS = {"warning": "#c2410c", "critical": "#b91c1c"}
BAND_COLOURS = {"warning": "rgba(234, 88, 12, 0.10)", "critical": "rgba(220, 38, 38, 0.16)"}
BREACHED = ("warning", "critical")


def breach_bands(
    state_at_start: str, changes: list[tuple[float, str]], start: float, end: float
) -> list[tuple[str, float, float]]:
    """The stretches of [start, end] a check spent in warning or critical, as
    (level, from, to). ``changes`` holds (time, new state) in time order."""
    bands = []
    state, since = state_at_start, start
    for at, new_state in [*changes, (end, "")]:
        at = min(max(at, start), end)
        if state in BREACHED and at > since:
            bands.append((state, since, at))
        state, since = new_state, at
    return bands


def merge_bands(bands: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Overlapping stretches of the same level (several series of one metric) as one."""
    merged: list[tuple[str, float, float]] = []
    for level in BREACHED:
        for _, begin, finish in sorted(b for b in bands if b[0] == level):
            if merged and merged[-1][0] == level and begin <= merged[-1][2]:
                merged[-1] = (level, merged[-1][1], max(merged[-1][2], finish))
            else:
                merged.append((level, begin, finish))
    return merged


def _ms(timestamp: float) -> int:
    """plotly reads a number on a date axis as milliseconds since the epoch, UTC: far cheaper
    to produce and to send than ISO strings."""
    return int(timestamp * 1000)


# Markers of what happened (dashboards/markers.py), by kind: the legend's words, the
# marker's symbol and its colour.
MARKER_STYLES: dict[str, tuple[str, str, str]] = {
    "run": ("runbook runs", "diamond", "#4338ca"),
    "tuning": ("threshold edits", "square", "#0f766e"),
    "silence": ("silences", "x", "#6b7280"),
    "ack": ("acknowledgements", "circle", "#0369a1"),
    "rollout": ("rollouts", "triangle-up", "#a16207"),
    "state": ("changes of state", "triangle-down", "#b91c1c"),
}


def marker_traces(markers: Sequence[tuple[float, str, str, str]]) -> list[dict[str, Any]]:
    """One trace per kind of marker ((at, kind, hover text, link)), along the top of the plot
    on an axis of its own (0 to 1, hidden), so the markers never change the value axis; the
    link is the point's customdata (charts.js opens it on a click)."""
    traces = []
    for kind, (word, symbol, colour) in MARKER_STYLES.items():
        own = [m for m in markers if m[1] == kind]
        if not own:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": word,
                "legendgroup": "markers",
                "x": [_ms(at) for at, _, _, _ in own],
                "y": [0.97] * len(own),
                "yaxis": "y2",
                # Plotly renders <a>, <b>, <span style> in hover text: a comment typed by
                # someone is shown as text, escaped
                "text": [html.escape(text) for _, _, text, _ in own],
                "customdata": [url for _, _, _, url in own],
                "hovertemplate": "%{text}<br>%{x}<extra></extra>",
                "marker": {"symbol": symbol, "size": 9, "color": colour},
                "showlegend": True,
            }
        )
    return traces


# Series colours: one qualitative palette (no reds or oranges: those are the levels' and the
# breach bands' colours), so a series and its own threshold lines share one colour.
PALETTE = (
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#17becf",
    "#e377c2",
    "#8c564b",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#7b4173",
)
OTHERS_COLOUR = "#9ca3af"
VALUE_COLOUR = "#374151"
MAX_SERIES = len(PALETTE)  # more are drawn as the worst ten and one "others" line
LEVEL_DASH = {"warning": "dot", "critical": "dash"}  # told apart without colour
SEVERITY = {"warning": 1, "critical": 2}
# Units whose axis starts at zero even without levels: bounded quantities read against zero.
FROM_ZERO = ("percent", "ratio", "seconds", "duration")
# Labels that name the thing a series is about, in the order a legend names them; others
# (job, device, fstype) are left out of a name where these already tell the series apart.
IDENTITY = (
    "pod",
    "instance",
    "node",
    "mountpoint",
    "tenant_tier",
    "endpoint",
    "feature_name",
    "namespace",
    "container",
    "service",
)
LEGEND_NAME_CHARS = 24  # two a row on the narrowest chart

# Layout in pixels, so that labels can be kept apart and the chart grows with its legend.
PLOT_HEIGHT = 160
AXIS_BELOW = 30  # the time axis's tick labels
LEGEND_ROW = 19
LEGEND_WIDTH = 400  # the narrowest chart on a dashboard (panel.css: minmax(420px, 1fr))
LABEL_HEIGHT = 13
TOP = 8
TOP_WITH_NOTE = 22


def legend_names(label_sets: Sequence[dict[str, str]]) -> list[str]:
    """Each series named by the labels that differ between the series of one chart, in the
    order the labels come: a label every series shares says nothing in a legend, and one that
    differs (``instance`` and ``job`` included) is what tells the lines apart. A lone series
    has no name. Instances are named without their common port and domain (``_hosts``)."""
    keys: dict[str, None] = {}
    for labels in label_sets:
        keys.update(dict.fromkeys(k for k in labels if k != "__name__"))
    differing = [k for k in keys if len({labels.get(k, "") for labels in label_sets}) > 1]
    hosts = _hosts([labels.get("instance", "") for labels in label_sets])

    def named(by: list[str]) -> list[str]:
        names = []
        for labels, host in zip(label_sets, hosts, strict=True):
            values = [host if k == "instance" else labels.get(k, "") for k in by]
            names.append(", ".join(v for v in values if v))
        return names

    # A label that differs only along with another (the job or the device of the one real
    # node exporter beside the simulated nodes) says nothing the other does not: left out
    # while the names stay apart, so a short legend keeps the node's own name. The labels
    # that name a thing (IDENTITY) are kept, and lead.
    for key in sorted((k for k in differing if k not in IDENTITY), key=lambda k: k != "job"):
        fewer = [k for k in differing if k != key]
        shorter = named(fewer)
        if fewer and all(shorter) and len(set(shorter)) == len(label_sets):
            differing = fewer
    differing.sort(key=lambda k: IDENTITY.index(k) if k in IDENTITY else len(IDENTITY))
    return named(differing)


def _hosts(instances: list[str]) -> list[str]:
    """Instances without what they all share: a ``:port`` ("node-a", not "node-a:9100") and a
    domain ("ip-10-0-1-7", not "ip-10-0-1-7.ec2.internal"; an IP address is kept whole)."""
    ports = {instance.rpartition(":")[2] for instance in instances}
    if len(ports) == 1 and (port := ports.pop()).isdigit():
        instances = [instance[: -len(port) - 1] for instance in instances]
    heads = [instance.partition(".") for instance in instances]
    domains = {domain for _, dot, domain in heads if dot}
    if (
        len(domains) == 1
        and all(dot and head and not head.isdigit() for head, dot, _ in heads)
        and len({head for head, _, _ in heads}) == len(heads)
    ):
        instances = [head for head, _, _ in heads]
    return instances


def series_name(labels: dict[str, str]) -> str:
    """A lone series' name, for a hover: its labels' values, "" when it has none."""
    return ", ".join(v for k, v in labels.items() if k != "__name__")


def _short(name: str) -> str:
    """A legend entry cut in the middle (a pod's name differs at its end); the hover keeps the
    whole name. Two entries fit a row of the narrowest chart."""
    if len(name) <= LEGEND_NAME_CHARS:
        return name
    head = LEGEND_NAME_CHARS - 11
    return f"{name[:head]}…{name[-10:]}"


def _shown(value: float, scale: float) -> float | None:
    """A value in the display unit with six significant digits (what a hover can show; the
    JSON stays short), or None (a gap) for NaN and infinities, which JSON cannot carry."""
    if not math.isfinite(value):
        return None
    return float(f"{value * scale:.6g}")


def _xy(points: Sequence[tuple[float, float]], scale: float) -> dict[str, Any]:
    """A trace's coordinates. Points on a regular grid (a range query's steps, maybe with
    gaps) are sent as ``x0`` and ``dx`` with a null where a step has no value: about half the
    bytes of an array of times."""
    times = [_ms(t) for t, _ in points]
    if len(times) > 2:
        step = min(b - a for a, b in itertools.pairwise(times))
        first = times[0]
        if step > 0 and (times[-1] - first) // step < 2 * len(times):
            slots = [(t - first + step // 2) // step for t in times]
            # float timestamps turned into ms may be a millisecond off the grid
            if all(abs(t - first - slot * step) <= 1 for t, slot in zip(times, slots, strict=True)):
                y: list[float | None] = [None] * (slots[-1] + 1)
                for slot, (_, value) in zip(slots, points, strict=True):
                    y[slot] = _shown(value, scale)
                return {"x0": first, "dx": step, "y": y}
    return {"x": times, "y": [_shown(v, scale) for _, v in points]}


def _worst(values: Sequence[float], direction: str) -> float:
    """The worst of some values, NaN left out (``max`` and ``min`` run in C, and skip a NaN
    anywhere but first, where it wins every comparison: then the values are filtered)."""
    pick = min if direction == "below" else max
    worst = pick(values)
    if math.isnan(worst):
        finite = [v for v in values if not math.isnan(v)]
        worst = pick(finite) if finite else math.nan
    return worst


def _rank(values: Sequence[float], direction: str) -> tuple[float, float]:
    """How bad a series got and how bad it is now, as one sort key (largest is worst)."""
    sign = -1.0 if direction == "below" else 1.0
    peak, last = _worst(values, direction), values[-1]
    return (
        -math.inf if math.isnan(peak) else sign * peak,
        -math.inf if math.isnan(last) else sign * last,
    )


def _worst_by_time(
    series: Sequence[tuple[Series, tuple[float, ...]]], direction: str
) -> list[tuple[float, float]]:
    """Per timestamp, the worst value of the series there (each given with its values). The
    series of one range query mostly share their timestamps: those are transposed at once,
    and only the groups (pods started or gone within the range) are merged by time."""
    groups: defaultdict[tuple[int, float, float], list[tuple[Series, tuple[float, ...]]]] = (
        defaultdict(list)
    )
    for one, values in series:
        groups[(len(values), one.points[0][0], one.points[-1][0])].append((one, values))
    worst: dict[float, float] = {}
    pick = min if direction == "below" else max
    for members in groups.values():
        times = [t for t, _ in members[0][0].points]
        columns = zip(*(values for _, values in members), strict=True)
        for t, column in zip(times, columns, strict=True):
            value = _worst(column, direction)
            if math.isnan(value):
                continue
            worst[t] = pick(worst[t], value) if t in worst else value
    return sorted(worst.items())


@dataclass
class _Level:
    """One drawn level: the threshold lines at one value (coincident levels merged), in the
    colour of the one series they belong to or of their level."""

    value: float  # display unit
    parts: list[tuple[ThresholdLine, str]]  # (line, its colour)

    @property
    def level(self) -> str:
        return max((line.level for line, _ in self.parts), key=SEVERITY.__getitem__)

    @property
    def colour(self) -> str:
        """The colour of its most severe line (the first of those): a critical level that is
        also another series' warning is drawn as the critical one."""
        return next(colour for line, colour in self.parts if line.level == self.level)

    def label(self, unit: str) -> str:
        words = " = ".join(
            f'<span style="color:{colour}">{html.escape(line.label, quote=False)}</span>'
            for line, colour in self.parts
        )
        # exactly as the tuning form shows it ("1 %", "250 ms"), not rounded ("1.0 %")
        value = formatting.exact_level(self.parts[0][0].value, unit, relative=False)
        return f'{words} <span style="color:{VALUE_COLOUR}">{value}</span>'


def _legend(names: Sequence[str]) -> tuple[int, dict[str, Any]]:
    """The rows a horizontal legend takes on the narrowest chart, and its layout. Short names
    flow (an entry is its symbol and gap, ~45 px, and ~6.5 px a character); long ones (pods)
    sit two a row in columns, cut to ``LEGEND_NAME_CHARS``. The legend may be as tall as its
    rows: plotly would otherwise make it a scroll box at half the chart's height."""
    columns: dict[str, Any] = {}
    if any(len(name) > 14 for name in names):
        rows = math.ceil(len(names) / 2)
        columns = {"entrywidth": 0.5, "entrywidthmode": "fraction"}
    else:
        rows, used = 0, float(LEGEND_WIDTH)
        for name in names:
            width = 45 + 6.5 * len(name)
            if used + width > LEGEND_WIDTH:
                rows, used = rows + 1, 0
            used += width
    legend = {
        "orientation": "h",
        "x": 0,
        "xanchor": "left",
        "yref": "container",
        "y": 0,
        "yanchor": "bottom",
        "font": {"size": 10},
        # the markers share a legend group; "grouped" would stack every group in a column
        "traceorder": "normal",
        "maxheight": rows * LEGEND_ROW + 12,
        **columns,
    }
    return rows, legend


def _spread(wanted: list[float], low: float, high: float, gap: float) -> list[float]:
    """Positions for labels wanted at ``wanted`` (sorted, bottom edges) at least ``gap``
    apart and inside [low, high - gap]: pushed up from the bottom, then down from the top."""
    placed: list[float] = []
    for y in wanted:
        placed.append(max(y, placed[-1] + gap) if placed else max(y, low))
    ceiling = high - gap
    for i in range(len(placed) - 1, -1, -1):
        placed[i] = min(placed[i], ceiling)
        ceiling = placed[i] - gap
    return placed


def trend_figure(
    result: RangeResult,
    unit: str,
    lines: Sequence[ThresholdLine],
    bands: Sequence[tuple[str, float, float]] = (),
    markers: Sequence[tuple[float, str, str, str]] = (),
    direction: str = "above",
    every_level: bool = False,
    others: Series | None = None,
    series_total: int | None = None,
) -> dict[str, Any]:
    """A line per series, a line per threshold level (``lines``), a shaded band behind the
    stretches spent in warning or critical (``bands`` holds (level, from, to), from the
    stored state history), and a marker per event (``markers`` holds (at, kind, hover text,
    link); see ``marker_traces``).

    - Series are named by the labels that differ between them (``legend_names``) and get
      their colours from ``PALETTE``. Past ``MAX_SERIES`` the worst are drawn (highest peak,
      then latest value; lowest for ``direction="below"``) and the rest as one dimmed line,
      the worst of them at each time (nothing hidden went past it); ``layout.meta`` says
      how many series there are and how many are drawn one by one. A caller that asked
      Prometheus for the worst series only passes the rest as ``others`` (already the worst
      of them at each time) and ``series_total``.
    - A line whose scope picks one drawn series is drawn in that series' colour; an unscoped
      one (or one scoped to several series) in its level's colour; one scoped to no drawn
      series is hidden. Warning is dotted, critical dashed. Lines at the same value are drawn
      once, their labels joined ("critical team = warning developer 1,000 ms"); labels are
      kept apart at the chart's left edge, away from the latest values.
    - The value axis covers the data and the nearest level beyond it; levels further away
      are named at the top edge ("↑ critical developer 2,000 ms") rather than squashing the
      data; ``every_level`` fits them all (a backtest that compares current and proposed).
    - ``layout.shapes`` starts with one line per entry of ``lines``, in their order (a
      merged or hidden one with ``visible`` false), so that a caller can restyle them;
      the bands follow.
    """
    shown_unit = units.display_unit(unit)
    scale = shown_unit.scale
    every = [series for series in result.series if series.points]
    total = max(len(every), series_total or 0)
    rest: list[tuple[Series, tuple[float, ...]]] = []
    drawn = every
    if len(every) > MAX_SERIES:
        valued = [(series, tuple(map(itemgetter(1), series.points))) for series in every]
        valued.sort(key=lambda pair: _rank(pair[1], direction), reverse=True)
        drawn = [series for series, _ in valued[:MAX_SERIES]]
        rest = valued[MAX_SERIES:]
    names = legend_names([series.labels for series in drawn])
    if total == 1:
        names = [series_name(drawn[0].labels)]
    if not rest:  # a stable order (and colours) from one refresh to the next
        order = sorted(range(len(drawn)), key=lambda i: names[i])
        drawn, names = [drawn[i] for i in order], [names[i] for i in order]
    symbol = f" {shown_unit.symbol}" if shown_unit.symbol else ""
    hover = f"%{{x|%b %d %H:%M}} · %{{y:,.4~g}}{symbol}"
    is_legend = len(drawn) > 1
    data: list[dict[str, Any]] = []
    for i, (series, name) in enumerate(zip(drawn, names, strict=True)):
        colour = PALETTE[i % len(PALETTE)]
        escaped = html.escape(name, quote=False)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": html.escape(_short(name), quote=False),
                "uid": name,  # a series hidden in the legend stays hidden when refreshed
                **_xy(series.points, scale),
                "connectgaps": False,
                "line": {"color": colour, "width": 1.6},
                "hovertemplate": f"{hover}<extra>{escaped}</extra>",
                "showlegend": is_legend,
            }
        )
    hidden = total - len(drawn)
    others_points = (
        _worst_by_time(rest, direction) if rest else others.points if others is not None else ()
    )
    if hidden > 0 and others_points:
        word = f"others ({hidden:,} series, {'min' if direction == 'below' else 'max'})"
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": word,
                "uid": "others",
                **_xy(others_points, scale),
                "connectgaps": False,
                "line": {"color": OTHERS_COLOUR, "width": 1.2},
                "opacity": 0.8,
                "hovertemplate": f"{hover}<extra>{word}</extra>",
                "showlegend": True,
            }
        )
    values = [y for trace in data for y in trace["y"] if y is not None]
    events = marker_traces(markers)
    data += events

    # the levels: which series each line belongs to, merged where they coincide
    levels: dict[float, _Level] = {}
    level_of: list[_Level | None] = []
    for line in lines:
        colour = LEVEL_COLOURS[line.level]
        if line.scope:
            owners = [
                i
                for i, series in enumerate(drawn)
                if all(series.labels.get(k) == v for k, v in line.scope.items())
            ]
            if not owners:
                level_of.append(None)  # its series is not drawn
                continue
            if len(owners) == 1:
                colour = PALETTE[owners[0] % len(PALETTE)]
        value = float(f"{line.value * scale:.6g}")
        if value in levels:
            levels[value].parts.append((line, colour))
        else:
            levels[value] = _Level(value, [(line, colour)])
        level_of.append(levels[value])

    # the value axis: the data and the nearest level beyond it on either side; from zero for
    # bounded quantities (a share, a latency) and wherever levels are drawn, else fitted to
    # the data: MRR moving 3 % around $425,000 is a flat line on an axis from $0
    from_zero = unit in FROM_ZERO or bool(levels) or not values
    low = min([0.0, *values]) if from_zero else min(values)
    high = max([0.0, *values]) if from_zero else max(values)
    above = sorted(v for v in levels if v > high)
    below = sorted((v for v in levels if v < low), reverse=True)
    if above:
        high = above[-1 if every_level else 0]
    if below:
        low = below[-1 if every_level else 0]
    span = (high - low) or abs(high) * 0.05 or 1.0
    axis_low = low - 0.05 * span if low < 0 or not from_zero else low
    axis_high = high + 0.08 * span
    outside = [level for value, level in levels.items() if not axis_low <= value <= axis_high]

    notes = [
        ("↑ " if level.value > axis_high else "↓ ") + level.label(unit)
        for level in sorted(outside, key=lambda level: -level.value)
    ]
    top = TOP_WITH_NOTE if notes else TOP
    legend_entries = [trace["name"] for trace in data if trace.get("showlegend")]
    legend_rows, legend = _legend(legend_entries)
    bottom = AXIS_BELOW + legend_rows * LEGEND_ROW + (8 if legend_rows else 0)

    shapes: list[dict[str, Any]] = []
    drawn_levels: set[float] = set()
    for line, level in zip(lines, level_of, strict=True):
        value = line.value * scale
        shape: dict[str, Any] = {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "yref": "y",
            "y0": value,
            "y1": value,
            "line": {"color": LEVEL_COLOURS[line.level], "width": 1.5, "dash": "dash"},
        }
        if level is None or level in outside or level.value in drawn_levels:
            shape["visible"] = False  # its series is not drawn, off the axis, or merged
        else:
            drawn_levels.add(level.value)
            shape["line"] = {
                "color": level.colour,
                "width": 1.5,
                "dash": LEVEL_DASH[level.level],
            }
        shapes.append(shape)
    shapes += [
        {
            "type": "rect",
            "xref": "x",
            "x0": _ms(begin),
            "x1": _ms(finish),
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "fillcolor": BAND_COLOURS[level],
            "line": {"width": 0},
            "layer": "below",
            "name": level,
        }
        for level, begin, finish in bands
    ]

    # labels just above their lines at the left edge (the latest values are on the right),
    # pushed apart where levels are close
    inside = sorted(
        (level for level in levels.values() if level not in outside), key=lambda x: x.value
    )
    per_pixel = (axis_high - axis_low) / PLOT_HEIGHT
    positions = _spread(
        [level.value for level in inside], axis_low, axis_high, LABEL_HEIGHT * per_pixel
    )
    annotations: list[dict[str, Any]] = [
        {
            "xref": "paper",
            "x": 0,
            "xanchor": "left",
            "yref": "y",
            "y": y,
            "yanchor": "bottom",
            "text": level.label(unit),
            "showarrow": False,
            "font": {"size": 10, "color": level.colour},
            "bgcolor": "rgba(250, 251, 252, 0.8)",
            "borderpad": 0,
        }
        for level, y in zip(inside, positions, strict=True)
    ]
    if notes:
        annotations.append(
            {
                "xref": "paper",
                "x": 1,
                "xanchor": "right",
                "yref": "paper",
                "y": 1,
                "yanchor": "bottom",
                "text": " · ".join(notes),
                "showarrow": False,
                "font": {"size": 10, "color": "#4b5563"},
            }
        )
    layout = {
        "margin": {"l": 48, "r": 12, "t": top, "b": bottom},
        "height": top + PLOT_HEIGHT + bottom,
        "showlegend": bool(legend_entries),
        "legend": legend,
        "yaxis": {
            "title": {"text": shown_unit.symbol, "font": {"size": 11}},
            "range": [axis_low, axis_high],
        },
        "xaxis": {"type": "date"},
        "yaxis2": {"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#fafbfc",
        "font": {"family": "system-ui, sans-serif", "size": 11},
        "shapes": shapes,
        "annotations": annotations,
        "meta": {"series_total": total, "series_shown": len(drawn)},
    }
    return {"data": data, "layout": layout}
