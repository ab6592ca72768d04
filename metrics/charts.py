"""Plotly figures for the dashboards: pure functions from query results to figures.

Figures are built as plotly's JSON structure directly (what ``Figure.to_plotly_json()`` would
give): building ``plotly.graph_objects`` validates every property and cost ~40 ms a chart,
which dominated a dashboard's server time. Tests load each figure into ``go.Figure`` to prove it
is valid.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from integrations.prometheus import RangeResult


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


SCALE = {"seconds": 1000.0}  # shown in milliseconds
AXIS_TITLE = {
    "seconds": "ms",
    "percent": "%",
    "rps": "req/s",
    "usd": "USD",
    "count": "",
    "ratio": "",
    "per_hour": "per hour",
}


def series_name(labels: dict[str, str]) -> str:
    shown = {k: v for k, v in labels.items() if k not in ("job", "instance") or len(labels) == 1}
    return ", ".join(shown.values()) or "value"


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


def trend_figure(
    result: RangeResult,
    unit: str,
    lines: Sequence[ThresholdLine],
    bands: Sequence[tuple[str, float, float]] = (),
    markers: Sequence[tuple[float, str, str, str]] = (),
) -> dict[str, Any]:
    """A line per series, a dashed line per threshold level (``lines``), a shaded band behind
    the stretches spent in warning or critical (``bands``
    holds (level, from, to), from the stored state history), and a marker per event
    (``markers`` holds (at, kind, hover text, link); see ``marker_traces``)."""
    scale = SCALE.get(unit, 1.0)
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": series_name(series.labels),
            "x": [_ms(t) for t, _ in series.points],
            "y": [v * scale for _, v in series.points],
            "connectgaps": False,
            # a lone series needs no legend entry; the markers' kinds do
            "showlegend": len(result.series) > 1,
        }
        for series in result.series
    ]
    events = marker_traces(markers)
    data += events
    shapes: list[dict[str, Any]] = [
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
    annotations = []
    for line in lines:
        label, level, value = line.label, line.level, line.value
        colour = LEVEL_COLOURS[level]
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": value * scale,
                "y1": value * scale,
                "line": {"color": colour, "width": 1, "dash": "dash"},
            }
        )
        # warning labels on the left, critical on the right: tiers whose levels coincide
        # (team's critical, developer's warning) stay readable
        annotations.append(
            {
                "xref": "paper",
                "x": 0 if level == "warning" else 1,
                "xanchor": "left" if level == "warning" else "right",
                "yref": "y",
                "y": value * scale,
                "yanchor": "bottom",
                "text": label,
                "showarrow": False,
                "font": {"size": 10, "color": colour},
            }
        )
    layout = {
        "margin": {"l": 48, "r": 12, "t": 8, "b": 32},
        "height": 220,
        "showlegend": len(result.series) > 1 or bool(events),
        "legend": {"orientation": "h", "y": -0.25, "font": {"size": 10}},
        "yaxis": {
            "title": {"text": AXIS_TITLE.get(unit, ""), "font": {"size": 11}},
            "rangemode": "tozero",
        },
        "xaxis": {"type": "date"},
        "yaxis2": {"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#fafbfc",
        "font": {"family": "system-ui, sans-serif", "size": 11},
        "shapes": shapes,
        "annotations": annotations,
    }
    return {"data": data, "layout": layout}
