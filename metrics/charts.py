"""Plotly figures for the dashboards: pure functions from query results to figures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

from metrics.prometheus import RangeResult

LEVEL_COLOURS = {"warning": "#c2410c", "critical": "#b91c1c"}
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


def trend_figure(
    result: RangeResult, unit: str, lines: list[tuple[str, str, float]]
) -> dict[str, Any]:
    """A line per series, and a dashed line per threshold level: ``lines`` holds
    (label, level, value). Returns the figure as plain JSON-ready data."""
    scale = SCALE.get(unit, 1.0)
    figure = go.Figure()
    for series in result.series:
        figure.add_trace(
            go.Scatter(
                x=[datetime.fromtimestamp(t, UTC).isoformat() for t, _ in series.points],
                y=[v * scale for _, v in series.points],
                mode="lines",
                name=series_name(series.labels),
                connectgaps=False,
            )
        )
    for label, level, value in lines:
        figure.add_hline(
            y=value * scale,
            line_dash="dash",
            line_width=1,
            line_color=LEVEL_COLOURS[level],
            annotation_text=label,
            annotation_position="top left",
            annotation_font_size=10,
            annotation_font_color=LEVEL_COLOURS[level],
        )
    figure.update_layout(
        margin={"l": 48, "r": 12, "t": 8, "b": 32},
        height=220,
        showlegend=len(result.series) > 1,
        legend={"orientation": "h", "y": -0.25, "font": {"size": 10}},
        yaxis={
            "title": {"text": AXIS_TITLE.get(unit, ""), "font": {"size": 11}},
            "rangemode": "tozero",
        },
        xaxis={"type": "date"},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="#fafbfc",
        font={"family": "system-ui, sans-serif", "size": 11},
    )
    return figure.to_plotly_json()
