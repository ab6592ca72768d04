"""The one formatting module: what every screen, message and rule annotation says."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import formatting
from core.choices import State, badness_rank


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.2357, "seconds", "236 ms"),
        (93600.0, "seconds", "93,600 s"),
        (12.345, "percent", "12.3 %"),
        (23790.4, "usd", "$23,790"),
        (1234.0, "count", "1,234"),
        (3.25, "rps", "3.2 req/s"),
        (None, "seconds", "—"),
    ],
)
def test_it_shows_a_value_in_its_unit(value, unit, shown):
    assert formatting.with_unit(value, unit) == shown


@pytest.mark.parametrize(
    ("seconds", "unit", "relative", "shown"),
    [
        (0.25, "seconds", False, "250 ms"),
        (90, "seconds", False, "90 s"),
        (300, "seconds", False, "5 min"),
        (93600, "seconds", False, "26 h"),
        (1234567.5, "count", False, "1234567.5"),
        (-10, "percent", True, "-10 %"),
        (2.5, "percent", False, "2.5 %"),
    ],
)
def test_it_says_a_rule_level_exactly(seconds, unit, relative, shown):
    assert formatting.exact_level(seconds, unit, relative) == shown


def test_it_says_durations_the_way_people_do():
    assert formatting.span(timedelta(seconds=40)) == "40 s"
    assert formatting.span(timedelta(minutes=125)) == "2 h 5 min"
    assert formatting.duration(7800) == "2h 10m"
    assert formatting.age(70920) == "19.7 h"
    assert formatting.signed_percent(-18.25) == "-18.2 %"
    assert formatting.share(0.99951) == "99.95 %"


def test_it_orders_states_and_severities_worst_first():
    order = sorted(["ok", "pending", "no_data", "warning", "error", "critical"], key=badness_rank)
    assert order == [
        State.CRITICAL,
        State.WARNING,
        State.ERROR,
        State.PENDING,
        State.NO_DATA,
        State.OK,
    ]
    assert badness_rank("something else") > badness_rank(State.OK)
