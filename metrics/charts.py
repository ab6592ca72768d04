"""Plotly figures for the dashboards: pure functions from query results to figures.

Figures are built as plotly's JSON structure directly (what ``Figure.to_plotly_json()`` would
give): building ``plotly.graph_objects`` validates every property and cost ~40 ms a chart,
which dominated a dashboard's server time. Tests load each figure into ``go.Figure`` to prove it
is valid.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
    (label, level, value)."""
    scale = SCALE.get(unit, 1.0)
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": series_name(series.labels),
            "x": [datetime.fromtimestamp(t, UTC).isoformat() for t, _ in series.points],
            "y": [v * scale for _, v in series.points],
            "connectgaps": False,
        }
        for series in result.series
    ]
    shapes, annotations = [], []
    for label, level, value in lines:
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
        annotations.append(
            {
                "xref": "paper",
                "x": 0,
                "xanchor": "left",
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
        "showlegend": len(result.series) > 1,
        "legend": {"orientation": "h", "y": -0.25, "font": {"size": 10}},
        "yaxis": {
            "title": {"text": AXIS_TITLE.get(unit, ""), "font": {"size": 11}},
            "rangemode": "tozero",
        },
        "xaxis": {"type": "date"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#fafbfc",
        "font": {"family": "system-ui, sans-serif", "size": 11},
        "shapes": shapes,
        "annotations": annotations,
    }
    return {"data": data, "layout": layout}
