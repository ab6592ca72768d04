"""The trend charts read: legends by the labels that differ, each series' levels in its colour,
coincident levels merged, an axis that fits the data, the worst ten of many series."""

from __future__ import annotations

import json
import math
import re
import time

import plotly.graph_objects as go

from integrations.prometheus import RangeResult, Series
from metrics.charts import (
    LEVEL_DASH,
    MAX_SERIES,
    OTHERS_COLOUR,
    PALETTE,
    ThresholdLine,
    legend_names,
    trend_figure,
)

END = 1_764_600_000.0


def _points(value, n=360, step=60.0):
    return tuple((END - (n - i) * step, value(i) if callable(value) else value) for i in range(n))


def _valid(figure):
    go.Figure(figure)  # raises on any invalid property
    json.dumps(figure, allow_nan=False)  # json_script and JSON.parse take no NaN
    return figure


def _by_name(figure):
    return {trace["name"]: trace for trace in figure["data"]}


def _visible(figure):
    return [s for s in figure["layout"]["shapes"] if s["type"] == "line" and s.get("visible", True)]


def _tiers():
    series = (
        Series({"tenant_tier": "enterprise"}, _points(lambda i: 0.09 + (0.25 if i == 200 else 0))),
        Series({"tenant_tier": "team"}, _points(0.3)),
        Series({"tenant_tier": "developer"}, _points(0.55)),
    )
    lines = []
    for tier, (warning, critical) in {
        "enterprise": (0.2, 0.5),
        "team": (0.5, 1.0),
        "developer": (1.0, 2.0),
    }.items():
        lines += [
            ThresholdLine("warning", warning, {"tenant_tier": tier}),
            ThresholdLine("critical", critical, {"tenant_tier": tier}),
        ]
    return RangeResult("q", series), lines


def test_it_names_node_memory_by_its_instances():
    result = RangeResult(
        "q",
        tuple(Series({"instance": f"node-{n}:9100", "job": "node"}, _points(50.0)) for n in "abcd"),
    )
    figure = _valid(trend_figure(result, "percent", []))
    assert [t["name"] for t in figure["data"]] == ["node-a", "node-b", "node-c", "node-d"]
    assert figure["layout"]["showlegend"] is True


def test_it_keeps_instance_and_job_when_they_are_what_differs():
    names = legend_names([{"instance": "10.0.0.1:9100", "job": "node"}, {"job": "pg"}])
    assert names == ["10.0.0.1:9100, node", "pg"]


def test_it_leaves_out_a_label_that_differs_only_along_with_another():
    # the one real node exporter beside the simulated nodes: its job says nothing the
    # instance does not, and would push the node's own name out of a short legend
    names = legend_names(
        [
            {"instance": "127.0.0.1:9110", "job": "node"},
            {"instance": "leanvibe-node-1", "job": "kubernetes-nodes"},
            {"instance": "leanvibe-node-2", "job": "kubernetes-nodes"},
        ]
    )
    assert names == ["127.0.0.1:9110", "leanvibe-node-1", "leanvibe-node-2"]


def test_it_names_storage_by_instance_and_mountpoint_when_both_differ():
    result = RangeResult(
        "q",
        tuple(
            Series({"instance": node, "mountpoint": mount, "fstype": "ext4"}, _points(40.0))
            for node in ("node-a", "node-b")
            for mount in ("/", "/data")
        ),
    )
    names = [t["name"] for t in _valid(trend_figure(result, "percent", []))["data"]]
    assert names == ["node-a, /", "node-a, /data", "node-b, /", "node-b, /data"]


def test_it_leaves_a_lone_series_without_a_legend():
    figure = _valid(trend_figure(RangeResult("q", (Series({}, _points(1.0)),)), "percent", []))
    assert figure["data"][0]["name"] == "" and figure["layout"]["showlegend"] is False
    assert figure["layout"]["meta"] == {"series_total": 1, "series_shown": 1}


def test_it_draws_each_tiers_levels_in_that_tiers_colour():
    result = RangeResult(
        "q",
        (
            Series({"tenant_tier": "enterprise"}, _points(0.1)),
            Series({"tenant_tier": "team"}, _points(0.38)),
        ),
    )
    lines = [
        ThresholdLine("warning", 0.2, {"tenant_tier": "enterprise"}),
        ThresholdLine("critical", 0.4, {"tenant_tier": "team"}),
        ThresholdLine("warning", 0.35),  # for every series
    ]
    figure = _valid(trend_figure(result, "seconds", lines))
    colour = {name: trace["line"]["color"] for name, trace in _by_name(figure).items()}
    assert len(set(colour.values())) == 2 and set(colour.values()) <= set(PALETTE)
    shapes = figure["layout"]["shapes"]
    assert [s["y0"] for s in shapes] == [200.0, 400.0, 350.0]  # the lines first, in order
    assert shapes[0]["line"]["color"] == colour["enterprise"]
    assert shapes[1]["line"]["color"] == colour["team"]
    assert shapes[2]["line"]["color"] not in colour.values()  # its level's colour
    # warning and critical differ without colour
    assert shapes[0]["line"]["dash"] == LEVEL_DASH["warning"] != shapes[1]["line"]["dash"]


def test_it_draws_coincident_levels_once_with_one_label():
    result, lines = _tiers()
    figure = _valid(trend_figure(result, "seconds", lines))
    at_500 = [s for s in _visible(figure) if s["y0"] == 500.0]
    assert len(at_500) == 1
    texts = [re.sub("<[^>]+>", "", a["text"]) for a in figure["layout"]["annotations"]]
    assert "critical enterprise = warning team 500 ms" in texts
    assert "critical team = warning developer 1,000 ms" in texts
    # drawn as the critical one, in enterprise's colour
    colour = _by_name(figure)["enterprise"]["line"]["color"]
    assert at_500[0]["line"] == {"color": colour, "width": 1.5, "dash": LEVEL_DASH["critical"]}


def test_it_keeps_labels_of_close_levels_apart():
    result = RangeResult("q", (Series({}, _points(50.0)),))
    lines = [ThresholdLine("warning", 80), ThresholdLine("critical", 81)]
    figure = _valid(trend_figure(result, "percent", lines))
    low, high = figure["layout"]["yaxis"]["range"]
    pixels = 160 / (high - low)
    ys = sorted(a["y"] for a in figure["layout"]["annotations"])
    assert (ys[1] - ys[0]) * pixels >= 12


def test_it_fits_the_axis_to_the_data_and_the_nearest_level_above():
    result, lines = _tiers()
    figure = _valid(trend_figure(result, "seconds", lines))
    low, high = figure["layout"]["yaxis"]["range"]
    # the data reach 550 ms: the next level is 1,000 ms; developer's 2,000 ms is only named
    assert low == 0 and 1000 <= high < 1200
    shape = figure["layout"]["shapes"][5]
    assert shape["y0"] == 2000.0 and shape["visible"] is False
    note = re.sub("<[^>]+>", "", figure["layout"]["annotations"][-1]["text"])
    assert note == "↑ critical developer 2,000 ms"
    assert figure["layout"]["annotations"][-1]["yref"] == "paper"


def test_it_hides_a_level_whose_series_is_not_drawn():
    result = RangeResult("q", (Series({"tenant_tier": "team"}, _points(0.3)),))
    lines = [ThresholdLine("warning", 5.0, {"tenant_tier": "enterprise"})]
    figure = _valid(trend_figure(result, "seconds", lines))
    assert figure["layout"]["shapes"][0]["visible"] is False
    assert figure["layout"]["yaxis"]["range"][1] < 400  # nor does it stretch the axis


def _pods(count):
    return RangeResult(
        "q",
        tuple(
            Series(
                {"namespace": "leanvibe", "pod": f"leanvibe-backend-7d9f8b6c4-{k:05d}"},
                _points(lambda i, k=k: (k % 100) + math.sin(i / 20 + k)),
            )
            for k in range(count)
        ),
    )


def test_it_draws_the_ten_worst_of_a_thousand_pods_and_the_highest_of_the_others():
    result = _pods(1000)
    started = time.perf_counter()
    figure = trend_figure(result, "percent", [ThresholdLine("warning", 80)])
    elapsed = time.perf_counter() - started
    _valid(figure)
    assert figure["layout"]["meta"] == {"series_total": 1000, "series_shown": MAX_SERIES}
    *worst, others = figure["data"]
    assert len(worst) == MAX_SERIES
    # pods 99, 199, ..., 999 sit highest (99 %)
    assert all(trace["uid"].endswith("99") for trace in worst)
    assert others["name"] == "others (990 series, max)"
    assert others["line"]["color"] == OTHERS_COLOUR
    assert max(others["y"]) < 99.01 and max(others["y"]) > 97.9  # pods ...98
    assert len(json.dumps(figure)) < 60_000
    assert elapsed < 1.0  # ~60 ms on a loaded two-core machine; a guard against quadratic work


def test_it_ranks_the_lowest_first_when_below_is_bad():
    figure = _valid(trend_figure(_pods(30), "rps", [], direction="below"))
    *worst, others = figure["data"]
    assert {trace["uid"][-2:] for trace in worst} == {"00"} | {f"{k:02d}" for k in range(1, 10)}
    assert others["name"] == "others (20 series, min)"


def test_it_keeps_a_long_legend_in_rows_below_a_taller_chart():
    figure = _valid(trend_figure(_pods(1000), "percent", []))
    layout = figure["layout"]
    assert layout["legend"]["orientation"] == "h"
    rows = math.ceil(11 / 2)  # ten pods and the others, two a row
    assert layout["legend"]["maxheight"] >= rows * 19
    assert layout["height"] >= 160 + rows * 19
    assert all(len(trace["name"]) <= 24 for trace in figure["data"])
    assert figure["data"][-1]["name"] == "others (990 series, max)"


def test_it_sends_regular_steps_as_a_start_and_a_step_with_gaps_as_nulls():
    points = tuple(p for i, p in enumerate(_points(lambda i: float(i), n=10)) if i != 4)
    nan = ((END, math.nan), (END + 60, 1.0), (END + 120, 2.0))
    result = RangeResult("q", (Series({"a": "1"}, points), Series({"a": "2"}, nan)))
    one, two = _valid(trend_figure(result, "count", []))["data"]
    assert one["dx"] == 60_000 and one["y"] == [0, 1, 2, 3, None, 5, 6, 7, 8, 9]
    assert two["y"] == [None, 1.0, 2.0]


def test_it_leaves_the_tuning_backtest_a_shape_per_line_in_order():
    result = RangeResult("q", (Series({}, _points(0.45)),))
    lines = [
        ThresholdLine("warning", 0.5, name="current warning"),
        ThresholdLine("warning", 0.4, name="proposed warning"),
        ThresholdLine("critical", 0.5, name="critical (unchanged)"),
    ]
    figure = _valid(trend_figure(result, "seconds", lines))
    shapes = figure["layout"]["shapes"]
    assert [s["y0"] for s in shapes] == [500.0, 400.0, 500.0]
    assert [s.get("visible", True) for s in shapes] == [True, True, False]  # merged
    texts = [re.sub("<[^>]+>", "", a["text"]) for a in figure["layout"]["annotations"]]
    assert "current warning = critical (unchanged) 500 ms" in texts


def test_it_can_fit_every_level_for_a_backtest_that_compares_them():
    result = RangeResult("q", (Series({}, _points(0.3)),))
    lines = [
        ThresholdLine("warning", 0.5, name="current warning"),
        ThresholdLine("warning", 0.4, name="proposed warning"),
        ThresholdLine("critical", 2.0, name="current critical"),
    ]
    figure = _valid(trend_figure(result, "seconds", lines, every_level=True))
    assert figure["layout"]["yaxis"]["range"][1] >= 2000
    assert all(s.get("visible", True) for s in figure["layout"]["shapes"])


def test_it_names_instances_without_their_common_port_and_domain():
    ec2 = [{"instance": f"ip-10-0-1-{k}.ec2.internal:9100"} for k in (7, 8)]
    assert legend_names(ec2) == ["ip-10-0-1-7", "ip-10-0-1-8"]
    ips = [{"instance": f"10.0.0.{k}:9100"} for k in (1, 2)]
    assert legend_names(ips) == ["10.0.0.1", "10.0.0.2"]  # an address stays whole


def test_the_labels_that_name_a_thing_lead_and_a_dependent_device_is_left_out():
    names = legend_names(
        [
            {"device": "/dev/vda", "instance": "127.0.0.1:9110", "mountpoint": "/"},
            {"device": "/dev/nvme0n1p1", "instance": "leanvibe-node-1", "mountpoint": "/"},
            {"device": "/dev/nvme0n1p1", "instance": "leanvibe-node-2", "mountpoint": "/"},
        ]
    )
    assert names == ["127.0.0.1:9110", "leanvibe-node-1", "leanvibe-node-2"]
