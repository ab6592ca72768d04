"""The one formatting module: what every screen, message and rule annotation says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import formatting
from core.choices import State, badness_rank


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.2357, "seconds", "236 ms"),
        (12.5, "seconds", "12,500 ms"),  # a latency is in ms however long
        (0.0025, "seconds", "2.5 ms"),
        (93600.0, "duration", "26h"),  # an age, as the form takes it
        (23790.4, "duration", "6h37m"),
        (42.0, "duration", "42s"),
        (0.105, "ratio", "10.5 %"),
        (12.345, "percent", "12.3 %"),
        (-12.5, "percent_change", "-12.5 %"),
        (36.0, "per_hour", "36 per hour"),
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
        (90, "seconds", False, "90,000 ms"),
        (0.2355, "seconds", False, "235.5 ms"),
        (93600, "duration", False, "26h"),
        (5400, "duration", False, "1h30m"),
        (0.105, "ratio", False, "10.5 %"),
        (1234567.5, "count", False, "1,234,567.5"),
        (5000, "usd", False, "5,000 USD"),
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


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "said"),
    [
        (NOW, "just now"),
        (NOW - timedelta(seconds=59), "just now"),
        (NOW + timedelta(seconds=30), "just now"),
        (NOW - timedelta(minutes=3), "3 min ago"),
        (NOW - timedelta(hours=2, minutes=5), "2 h 5 min ago"),
        (NOW + timedelta(minutes=57), "in 57 min"),
        (NOW + timedelta(minutes=59, seconds=59.5), "in 1 h"),  # a request just made
        (None, "—"),
    ],
)
def test_it_says_a_moment_as_people_do(moment, said):
    assert formatting.ago(moment, NOW) == said


@pytest.mark.parametrize(
    ("since", "said"),
    [
        (NOW - timedelta(seconds=10), "just now"),
        (NOW - timedelta(minutes=3), "for 3 min"),
        (NOW - timedelta(days=1, hours=2), "for 1 d 2 h"),
    ],
)
def test_it_says_how_long_a_state_has_held_never_0_minutes(since, said):
    assert formatting.held_for(since, NOW) == said
