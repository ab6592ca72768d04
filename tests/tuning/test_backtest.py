"""The backtest replays history through the same decisions as the evaluation cycle, counts what
each rule would have done, and asks Prometheus in pieces under its points limit."""

from __future__ import annotations

import math
import random
import time

import pytest

from alerts.evaluation import Memory, Reading, Rule, judge, relative_change
from core.choices import State
from integrations import prometheus
from tuning.backtest import COUNTED, Tally, readings, replay_readings, tally_windows


def judged(times, values, rule, volumes=None, baselines=None, min_volume=None):
    memory, states = Memory(), []
    for t in times:
        value = values.get(t)
        if baselines is not None:
            value = relative_change(value, baselines.get(t))
        volume = volumes.get(t) if volumes is not None else None
        memory = judge(Reading(value=value, volume=volume), rule, memory, t, min_volume=min_volume)
        states.append(memory.state)
    return states


def replay(times, values, rule, *, volumes=None, baselines=None, min_volume=None):
    """One series' raw values through the backtest's two steps, as ``backtest`` runs them."""
    compared = readings(times, values, volumes=volumes, baselines=baselines, min_volume=min_volume)
    return replay_readings(times, compared, rule)


@pytest.mark.parametrize("seed", range(20))
def test_it_decides_exactly_as_the_evaluation_cycle(seed):
    rng = random.Random(seed)  # noqa: S311 (reproducible test data)
    times = [rng.choice([0, 1_000_000]) + 60 * i for i in range(600)]  # time 0 is a time too
    values, volumes, baselines = {}, {}, {}
    level = rng.uniform(40, 100)
    for t in times:
        level = min(max(level + rng.gauss(0, 6), 0), 120)
        roll = rng.random()
        if roll > 0.03:
            values[t] = math.nan if roll > 0.995 else level
        volumes[t] = rng.choice([0.2, 5, 5, 5])
        baselines[t] = rng.choice([0, 80, 90, 100])
    direction = rng.choice(["above", "below"])
    warning, critical = (80, 95) if direction == "above" else (60, 45)
    critical = rng.choice([critical, None])  # a threshold may have a warning level only
    rule = Rule(direction, warning, critical, rng.choice([0, 120, 600]), rng.choice([0, 300]))
    assert replay(times, values, rule) == judged(times, values, rule)
    guarded = {"volumes": volumes, "min_volume": 1.0}
    assert replay(times, values, rule, **guarded) == judged(times, values, rule, **guarded)
    relative = Rule("below", -10, -25, 600, 300)
    assert replay(times, values, relative, baselines=baselines) == judged(
        times, values, relative, baselines=baselines
    )


def test_it_counts_entries_time_and_flaps_inside_the_window():
    step = 60
    times = [i * step for i in range(10)]
    states = [
        "ok",
        "pending",
        "warning",
        "warning",
        "critical",
        "ok",
        "pending",
        "ok",
        "no_data",
        "ok",
    ]
    # the window (since, end] starts at the fourth evaluation: its warning continues, it is
    # not a new entry
    [out] = tally_windows(times, states, [2 * step], step)
    assert out.entered == {State.PENDING: 1, State.WARNING: 0, State.CRITICAL: 1}
    assert out.seconds == {State.PENDING: 60, State.WARNING: 60, State.CRITICAL: 60}
    assert out.flaps == 2 and out.no_data_seconds == 60


def walked(times, states, since, step):
    """The window's tally walking every evaluation: what the run-based tally must equal."""
    out, previous = Tally(), None
    for t, state in zip(times, states, strict=True):
        if t > since:
            if state in COUNTED:
                out.seconds[state] += step
                out.entered[state] += state != previous
            elif state == State.NO_DATA:
                out.no_data_seconds += step
            out.flaps += state == State.OK and previous in COUNTED
        previous = state
    return out


@pytest.mark.parametrize("seed", range(20))
def test_it_tallies_every_window_from_runs_as_a_walk_would(seed):
    rng = random.Random(seed)  # noqa: S311 (reproducible test data)
    step = 60
    times = [step * i for i in range(rng.randint(1, 400))]
    states, state = [], rng.choice(list(State))
    for _ in times:
        if rng.random() < 0.15:
            state = rng.choice(list(State))
        states.append(state)
    sinces = [times[-1] - step * rng.randint(0, len(times) + 2) for _ in range(4)]
    assert tally_windows(times, states, sinces, step) == [
        walked(times, states, since, step) for since in sinces
    ]


@pytest.mark.services
def test_it_asks_for_long_ranges_in_pieces_that_join_back(demo_prometheus, settings):
    _, url = demo_prometheus
    settings.PROMETHEUS_URL = url
    end = time.time() - 2
    query = 'label_replace(vector(time()), "tier", "team", "", "")'  # a point at every step
    whole = prometheus.range_query(query, end - 30, end, 1, cache_seconds=0)
    [pieces] = prometheus.range_queries_chunked(
        [(query, end - 30, end, 1)], max_points=7, cache_seconds=0
    )
    assert whole.is_ok and pieces.is_ok
    by_labels = {tuple(sorted(s.labels.items())): s.points for s in whole.series}
    assert {tuple(sorted(s.labels.items())): s.points for s in pieces.series} == by_labels
    assert sum(len(points) for points in by_labels.values()) > 20
