"""The evaluation rules, one by one: for: semantics, no_data and error apart from OK, no silent
recovery, guarded ratios, relative thresholds with their sign."""

from __future__ import annotations

import math

import pytest

from alerts.evaluation import Memory, Reading, Rule, judge, relative_change
from core.choices import State

LATENCY = Rule("above", 0.2, 0.5, for_warning=300, for_critical=300)
CPU = Rule("above", 80, 95, for_warning=600, for_critical=300)
HIT_RATE = Rule("below", 85, 70, for_warning=300, for_critical=300)


def run(rule: Rule, values: list[float | None], step: float = 60, **kwargs) -> list[Memory]:
    memory, out = Memory(), []
    for i, value in enumerate(values):
        memory = judge(Reading(value=value, sample_age=5), rule, memory, 1000 + i * step, **kwargs)
        out.append(memory)
    return out


def states(memories: list[Memory]) -> list[str]:
    return [m.state for m in memories]


def test_it_is_pending_until_the_breach_has_held_for_the_duration():
    # Prometheus: pending from the first breach, firing once it held for `for` (5 minutes).
    result = states(run(LATENCY, [0.1, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]))
    assert result == [
        "ok",
        "pending",
        "pending",
        "pending",
        "pending",
        "pending",
        "warning",
        "warning",
    ]


def test_it_restarts_the_timer_when_the_breach_is_interrupted():
    result = states(run(LATENCY, [0.3, 0.3, 0.3, 0.3, 0.1, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]))
    assert result[4] == "ok"
    assert result[5:] == ["pending"] * 5 + ["warning"]


def test_it_honours_a_shorter_for_on_the_critical_level():
    # CPU: warning after 10 minutes above 80 %, critical after 5 minutes above 95 %.
    assert states(run(CPU, [97] * 6))[-1] == "critical"
    assert states(run(CPU, [90] * 6))[-1] == "pending"
    assert states(run(CPU, [90] * 11))[-1] == "warning"


def test_it_judges_lower_bounds():
    assert states(run(HIT_RATE, [90, 80, 80, 80, 80, 80, 80]))[-1] == "warning"
    assert states(run(HIT_RATE, [60] * 6))[-1] == "critical"


def test_it_keeps_the_time_a_state_began():
    memories = run(LATENCY, [0.3] * 8)
    assert memories[-1].since == memories[-2].since == 1000 + 5 * 60
    assert memories[-1].reason == "0.3 > 0.2 (warning)"


@pytest.mark.parametrize(
    ("reading", "reason"),
    [
        (Reading(value=None), "the query returned nothing"),
        (Reading(value=math.nan, sample_age=1), "no meaningful value (a ratio over zero traffic)"),
        (Reading(value=math.inf, sample_age=1), "no meaningful value (a ratio over zero traffic)"),
        (Reading(value=0.1, sample_age=900), "the newest sample is 900s old"),
    ],
)
def test_it_never_shows_missing_data_as_ok(reading, reason):
    memory = judge(reading, LATENCY, Memory(state=State.OK, since=0), 1000)
    assert (memory.state, memory.reason) == (State.NO_DATA, reason)


def test_it_calls_a_ratio_over_too_little_traffic_no_data():
    memory = judge(
        Reading(value=100.0, sample_age=1, volume=0.01),
        Rule("above", 1, 5, 0, 0),
        Memory(),
        1000,
        min_volume=1,
    )
    assert memory.state == State.NO_DATA
    assert memory.reason == "too little traffic to judge (0.01 < 1)"


def test_it_does_not_let_a_vanished_series_recover_silently():
    memories = run(LATENCY, [0.6] * 7)
    assert memories[-1].state == State.CRITICAL
    gone = judge(Reading(value=None), LATENCY, memories[-1], 2000)
    assert gone.state == State.NO_DATA
    assert gone.reason == "the query returned nothing (was critical: not a recovery)"


def test_it_reports_a_datasource_error_apart_and_restarts_the_timers():
    memories = run(LATENCY, [0.3] * 4)
    failed = judge(Reading(error="timed out"), LATENCY, memories[-1], 2000)
    assert (failed.state, failed.reason) == (State.ERROR, "datasource error: timed out")
    back = judge(Reading(value=0.3, sample_age=1), LATENCY, failed, 2060)
    assert back.state == State.PENDING
    assert back.warning_since == 2060


def test_it_computes_relative_change_with_its_sign():
    assert relative_change(85, 100) == pytest.approx(-15)
    assert relative_change(110, 100) == pytest.approx(10)
    assert relative_change(5, 0) is None
    assert relative_change(None, 100) is None


def test_it_judges_a_relative_drop_like_any_lower_bound():
    tenants = Rule("below", -10, -25, for_warning=0, for_critical=0)
    memory = judge(Reading(value=relative_change(850, 1000), sample_age=1), tenants, Memory(), 1)
    assert memory.state == State.WARNING
    memory = judge(Reading(value=relative_change(700, 1000), sample_age=1), tenants, Memory(), 1)
    assert memory.state == State.CRITICAL
