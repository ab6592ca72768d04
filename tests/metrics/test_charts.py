from __future__ import annotations

import plotly.graph_objects as go

from metrics.charts import trend_figure
from metrics.prometheus import RangeResult, Series


def test_it_builds_a_valid_plotly_figure_with_threshold_lines():
    result = RangeResult(
        "q",
        (
            Series({"tenant_tier": "enterprise"}, ((0, 0.1), (60, 0.25))),
            Series({"tenant_tier": "team"}, ((0, 0.3), (60, 0.31))),
        ),
    )
    figure = trend_figure(result, "seconds", [("warning enterprise", "warning", 0.2)])
    validated = go.Figure(figure)  # raises on any invalid property
    assert [trace.name for trace in validated.data] == ["enterprise", "team"]
    assert list(validated.data[0].y) == [100.0, 250.0]  # milliseconds
    assert validated.layout.shapes[0].y0 == 200.0
    assert validated.layout.annotations[0].text == "warning enterprise"
