"""The completion-rate chart: pure functions returning plotly figures (like metrics/charts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from checklists.choices import Cadence, RunStatus

COLOURS = {
    Cadence.DAILY: "#2f6fdf",
    Cadence.WEEKLY: "#17a673",
    Cadence.MONTHLY: "#d98c10",
    Cadence.QUARTERLY: "#8e44ad",
}


def completion_rates(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float | int]]:
    """Per cadence: runs, complete ones, and those complete by their due time."""
    rates: dict[str, dict[str, float | int]] = {}
    for cadence in Cadence.values:
        mine = [r for r in runs if r["cadence"] == cadence]
        complete = [r for r in mine if r["status"] == RunStatus.COMPLETE]
        on_time = [
            r for r in mine if r["signed_off_at"] is not None and r["signed_off_at"] <= r["due_at"]
        ]
        rates[cadence] = {
            "runs": len(mine),
            "complete": len(complete),
            "on_time": len(on_time),
            "rate": len(complete) / len(mine) if mine else 0.0,
            "on_time_rate": len(on_time) / len(mine) if mine else 0.0,
        }
    return rates


def completion_figure(rates: dict[str, dict[str, float | int]]) -> dict[str, Any]:
    """Grouped bars per cadence: share of runs complete, and share signed off by the due time.
    Built as plotly's JSON directly, like metrics.charts (tests load it into ``go.Figure``)."""
    labels = [Cadence(c).label for c in rates]
    return {
        "data": [
            {
                "type": "bar",
                "name": "complete",
                "x": labels,
                "y": [round(float(r["rate"]) * 100, 1) for r in rates.values()],
                "marker": {"color": [COLOURS[Cadence(c)] for c in rates]},
                "text": [f"{r['complete']}/{r['runs']}" for r in rates.values()],
                "textposition": "auto",
            },
            {
                "type": "bar",
                "name": "signed off by the due time",
                "x": labels,
                "y": [round(float(r["on_time_rate"]) * 100, 1) for r in rates.values()],
                "marker": {"color": "#9aa5b1"},
            },
        ],
        "layout": {
            "barmode": "group",
            "height": 260,
            "margin": {"l": 40, "r": 10, "t": 10, "b": 30},
            "yaxis": {"title": {"text": "% of runs"}, "range": [0, 100]},
            "legend": {"orientation": "h", "y": -0.2},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }
