from __future__ import annotations

import plotly.graph_objects as go

from integrations.prometheus import RangeResult, Series
from metrics.charts import (
    BAND_COLOURS,
    ThresholdLine,
    breach_bands,
    merge_bands,
    trend_figure,
)


def test_it_builds_a_valid_plotly_figure_with_threshold_lines():
    result = RangeResult(
        "q",
        (
            Series({"tenant_tier": "enterprise"}, ((0, 0.1), (60, 0.25))),
            Series({"tenant_tier": "team"}, ((0, 0.3), (60, 0.31))),
        ),
    )
    figure = trend_figure(
        result, "seconds", [ThresholdLine("warning", 0.2, {"tenant_tier": "enterprise"})]
    )
    validated = go.Figure(figure)  # raises on any invalid property
    assert [trace.name for trace in validated.data] == ["enterprise", "team"]
    assert list(validated.data[0].y) == [100.0, 250.0]  # milliseconds
    assert validated.layout.shapes[0].y0 == 200.0
    assert "warning enterprise" in validated.layout.annotations[0].text
    assert "200 ms" in validated.layout.annotations[0].text


def test_it_shades_the_stretches_spent_in_warning_or_critical():
    result = RangeResult("q", (Series({}, ((0, 1.0), (100, 2.0))),))
    bands = breach_bands("ok", [(20, "warning"), (40, "critical"), (60, "ok")], 0, 100)
    assert bands == [("warning", 20, 40), ("critical", 40, 60)]
    validated = go.Figure(trend_figure(result, "percent", [], bands))
    assert [(s.type, s.fillcolor) for s in validated.layout.shapes] == [
        ("rect", BAND_COLOURS["warning"]),
        ("rect", BAND_COLOURS["critical"]),
    ]


def test_it_starts_and_ends_a_band_at_the_edges_of_the_range():
    # critical before the range began, still critical at its end
    assert breach_bands("critical", [], 100, 200) == [("critical", 100, 200)]
    # a change before the range is clipped to it
    assert breach_bands("ok", [(50, "warning"), (150, "ok")], 100, 200) == [("warning", 100, 150)]
    # pending, no_data and error are not breaches
    assert breach_bands("pending", [(120, "no_data"), (130, "error")], 100, 200) == []


def test_it_merges_overlapping_stretches_of_several_series():
    bands = [("warning", 0, 10), ("warning", 5, 20), ("warning", 30, 40), ("critical", 8, 9)]
    assert merge_bands(bands) == [
        ("warning", 0, 20),
        ("warning", 30, 40),
        ("critical", 8, 9),
    ]
