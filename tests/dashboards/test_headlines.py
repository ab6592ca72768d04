"""The headline tiles: each KPI's value now in its unit, its change over the range coloured
by whether it is good news, a sparkline; the business tiles equal Prometheus's own answer for
the same expression at the same moment."""

from __future__ import annotations

import json
import os
import re
import urllib.parse
import urllib.request

import pytest
from django.core.management import call_command

from core.choices import Better, Unit
from dashboards.headline import headline
from integrations.prometheus import QueryResult, Sample, Series
from metrics.models import Dashboard

pytestmark = pytest.mark.django_db


def answer(*values: float, label: str = "tenant_tier") -> QueryResult:
    names = ("enterprise", "team", "developer", "d", "e")
    return QueryResult(
        "q", tuple(Sample({label: n}, v) for n, v in zip(names, values, strict=False))
    )


def stat(now, before, unit=Unit.USD, better=Better.UP, group_by=("tenant_tier",), **kw):
    return headline(
        unit=unit,
        better=better,
        group_by=group_by,
        now=now,
        before=before,
        trend=kw.pop("trend", ()),
        range_key=kw.pop("range_key", "7d"),
    )


def test_it_sums_a_kpi_split_by_tier_and_names_the_parts():
    shown = stat(answer(186000, 95400, 24800), answer(180000, 95000, 24000))
    assert shown.value == 306200 and shown.how == "Total of 3"
    assert [p.name for p in shown.parts] == ["enterprise", "team", "developer"]
    assert shown.change == "+2.4 %" and shown.arrow == "▲" and shown.tone == "good"
    assert shown.comparison == "week over week"


def test_a_rise_is_bad_news_for_a_metric_better_down():
    shown = stat(answer(0.12), answer(0.10), unit=Unit.RATIO, better=Better.DOWN)
    # a share changes in percentage points, not in percent of itself
    assert shown.change == "+2.0 pp" and shown.tone == "bad" and shown.arrow == "▲"


def test_a_change_too_small_to_see_is_no_change_whatever_its_sign():
    shown = stat(answer(0.105), answer(0.1050001), unit=Unit.RATIO, better=Better.DOWN)
    assert shown.change == "no change" and shown.tone == "neutral" and shown.arrow == "="


def test_a_metric_that_is_not_additive_shows_its_highest_series():
    shown = stat(
        answer(0.62, 0.48, 0.3, label="feature_name"),
        answer(),
        unit=Unit.RATIO,
        group_by=("feature_name",),
    )
    assert shown.value == 0.62 and shown.how == "Highest of 3"
    assert shown.comparison == "no value 7d ago to compare with" and shown.change == ""


def test_a_history_shorter_than_the_range_compares_with_its_oldest_point():
    day = 1796083200.0  # 2026-12-01 00:00 UTC
    trend = (Series({}, ((day, 100.0), (day + 3600, 110.0))),)
    shown = stat(answer(110), QueryResult("q"), trend=trend, range_key="90d")
    assert shown.change == "+10.0 %" and shown.comparison.startswith("since Dec 1, ")


def test_a_change_from_zero_is_said_as_a_difference():
    shown = stat(answer(12), answer(0), unit=Unit.COUNT)
    assert shown.change == "+12" and shown.tone == "good"


def test_the_comparison_follows_the_range():
    for key, words in (
        ("24h", "vs a day ago"),
        ("30d", "month over month"),
        ("90d", "quarter over quarter"),
    ):
        assert stat(answer(2), answer(1), range_key=key).comparison == words


def test_it_says_why_there_is_no_value():
    failed = QueryResult("q", failure="unreachable", reason="connection refused")
    assert stat(failed, failed).problem == "unreachable: connection refused"
    assert stat(QueryResult("q"), QueryResult("q")).problem == "no data now"


def test_the_sparkline_follows_the_headline_and_stays_in_its_box():
    points = tuple((float(t), float(t % 7)) for t in range(0, 600, 5))
    trend = (Series({"tenant_tier": "enterprise"}, points), Series({"tenant_tier": "team"}, points))
    shown = stat(answer(1, 2), answer(1, 2), trend=trend)
    coordinates = [tuple(map(float, p.split(","))) for p in shown.spark.split()]
    assert len(coordinates) <= 61
    assert all(0 <= x <= 120 and 0 <= y <= 28 for x, y in coordinates)
    assert "Trend over 7d" in shown.spark_label


@pytest.fixture
def business_board(demo_prometheus, settings):
    _, url = demo_prometheus
    settings.PROMETHEUS_URL = url
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return url


def prometheus_value(url: str, query: str, at: str) -> list[float]:
    params = urllib.parse.urlencode({"query": query, "time": f"{float(at):.3f}"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=10) as response:
        result = json.load(response)["data"]["result"]
    return [float(item["value"][1]) for item in result]


def test_the_business_tiles_equal_prometheus_answer_for_the_same_expression(
    business_board, business_client
):
    page = business_client.get("/d/business-metrics?range=24h").content.decode()
    tiles = [
        found.groups()
        for article in page.split('<article class="tile"')[1:]
        if (
            found := re.search(
                r'data-panel="([^"]+)".*?data-value="([^"]+)" data-at="([^"]+)">([^<]+)<',
                article.split("</article>")[0],
                re.S,
            )
        )
    ]
    board = Dashboard.objects.get(slug="business-metrics")
    metrics = {p.metric.key: p.metric for p in board.panels.select_related("metric")}
    assert {"mrr", "active_tenants_by_tier", "tenant_signups_24h"} <= {t[0] for t in tiles}
    for key, value, at, _text in tiles:
        metric = metrics[key]
        values = prometheus_value(business_board, metric.query, at)
        expected = (
            sum(values)
            if metric.unit in (Unit.USD, Unit.COUNT, Unit.RPS, Unit.PER_HOUR)
            else max(values)
        )
        assert float(value) == pytest.approx(expected, rel=1e-9), key
    shown = {key: text for key, _, _, text in tiles}
    assert shown["mrr"].startswith("$") and "," in shown["mrr"]  # dollars
    assert re.fullmatch(r"[\d,]+", shown["active_tenants_by_tier"])  # a count
    if "churn_rate" in shown:  # a day of the fresh demo may have no signups: no ratio
        assert shown["churn_rate"].endswith(" %")


def test_a_ratio_over_no_traffic_is_no_value_not_a_change():
    shown = stat(answer(float("nan")), answer(0.1), unit=Unit.RATIO)
    assert shown.value is None and shown.problem == "no data now"


def test_a_failed_look_back_is_said_as_such_not_as_a_short_history():
    failed = QueryResult("q", failure="timeout", reason="no answer within 2s")
    trend = (Series({}, ((1.0, 1.0), (2.0, 2.0))),)
    shown = stat(answer(2), failed, trend=trend)
    assert shown.change == "" and shown.comparison == "the value 7d ago could not be read (timeout)"


def test_a_rise_from_zero_is_measured_in_the_display_unit():
    shown = stat(answer(0.04), answer(0.0), unit=Unit.SECONDS, better=Better.DOWN)
    assert shown.change == "+40 ms" and shown.tone == "bad"
