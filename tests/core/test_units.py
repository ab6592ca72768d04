"""One display unit per quantity: what people type and read (ms, %, 26h) against what is stored
and queried (seconds, ratios), converted in ``core.units`` and said in ``core.formatting``."""

from __future__ import annotations

import random

import pytest

from core import formatting, units


@pytest.mark.parametrize(
    ("typed", "unit", "stored"),
    [
        ("250", "seconds", 0.25),
        ("250 ms", "seconds", 0.25),
        ("1,500", "seconds", 1.5),
        ("10.5", "ratio", 0.105),
        ("0.29", "ratio", 0.0029),  # not 0.0029000000000000002
        ("10.5 %", "ratio", 0.105),
        ("85", "percent", 85.0),
        ("26h", "duration", 93600),
        ("26 h", "duration", 93600),
        ("1d2h", "duration", 93600),
        ("90m", "duration", 5400),
        ("26", "duration", 93600),  # a bare number is hours
        ("-10", "percent_change", -10.0),
    ],
)
def test_it_reads_what_people_type_in_the_display_unit(typed, unit, stored):
    assert units.parse_input(typed, unit) == stored


@pytest.mark.parametrize(
    ("typed", "unit", "message"),
    [
        ("0.25 s", "seconds", "is not a number in ms"),
        ("inf", "seconds", "is not a number in ms"),
        ("26 hours", "duration", "is not a duration like 90m, 26h or 2d"),
        ("lots", "count", "is not a number"),
    ],
)
def test_it_says_why_a_typed_value_is_refused(typed, unit, message):
    with pytest.raises(ValueError, match=message):
        units.parse_input(typed, unit)


@pytest.mark.parametrize(
    ("stored", "unit", "shown"),
    [
        (0.2, "seconds", "200"),
        (0.105, "ratio", "10.5"),
        (93600, "duration", "26h"),
        (180000, "duration", "50h"),
        (5400, "duration", "1h30m"),
        (30 * 86400, "duration", "30d"),
        (-5, "percent_change", "-5"),
        (None, "seconds", ""),
    ],
)
def test_it_shows_a_stored_value_for_editing(stored, unit, shown):
    assert units.input_text(stored, unit) == shown


@pytest.mark.parametrize("unit", ["seconds", "ratio", "percent", "duration", "usd", "count"])
def test_it_saves_back_what_it_showed(unit):
    rng = random.Random(unit)  # noqa: S311 (reproducible test data)
    for _ in range(300):
        if unit == "duration":
            value = float(rng.randrange(0, 90 * 86400, 60))
        else:
            value = round(rng.uniform(0, 3), rng.randint(1, 6))
        assert units.parse_input(units.input_text(value, unit), unit) == value


@pytest.mark.parametrize(
    ("stored", "unit", "question"),
    [
        (250.0, "seconds", "250,000 ms is unusual for a latency (usually between 0 and 10,000 ms)"),
        (1.5, "ratio", "150 % is unusual for a ratio (usually between 0 and 100 %)"),
        (120.0, "percent", "120 % is unusual for a percentage (usually between 0 and 100 %)"),
        (200 * 86400, "duration", "200d is unusual for an age (usually at most 90 days)"),
        (-150.0, "percent_change", "-150 % is unusual for a percent change (usually not below"),
        (0.25, "seconds", ""),
        (93600, "duration", ""),
        (-25.0, "percent_change", ""),
        (1e9, "usd", ""),
    ],
)
def test_it_asks_about_a_value_unusual_for_its_unit(stored, unit, question):
    said = formatting.unusual(stored, unit)
    assert said.startswith(question) if question else said == ""


@pytest.mark.parametrize(
    ("stored", "unit", "said"),
    [
        ("0.2357 > 0.2 (warning)", "seconds", "236 ms > 200 ms (warning)"),
        ("0.62 > 0.5 (critical)", "seconds", "620 ms > 500 ms (critical)"),
        (
            "0.3 > 0.2 (warning); the levels were edited at 2026-12-01 10:00 UTC",
            "seconds",
            "300 ms > 200 ms (warning); the levels were edited at 2026-12-01 10:00 UTC",
        ),
        ("9.8e+04 > 9.36e+04 (warning)", "duration", "27h13m > 26h (warning)"),
        ("0.1234 > 0.105 (warning)", "ratio", "12.3 % > 10.5 % (warning)"),
        ("-12.5 < -10 (critical)", "percent_change", "-12.5 % < -10 % (critical)"),
        ("88.5 > 85", "percent", "88.5 % > 85 %"),
        ("the query returned nothing", "seconds", "the query returned nothing"),
        (
            "too little traffic to judge (0.01 < 1)",
            "seconds",
            "too little traffic to judge (0.01 < 1)",
        ),
        ("", "seconds", ""),
    ],
)
def test_it_says_a_reason_in_the_display_unit(stored, unit, said):
    assert formatting.reason(stored, unit) == said


def test_it_gives_a_relative_threshold_s_levels_the_unit_of_a_percent_change():
    assert units.level_unit("seconds", relative=True) == units.PERCENT_CHANGE
    assert units.level_unit("seconds", relative=False) == "seconds"
    assert formatting.exact_level(-10, "usd", relative=True) == "-10 %"
    assert formatting.with_unit(-18.25, units.PERCENT_CHANGE) == "-18.2 %"


def test_it_says_a_tuning_change_in_the_display_unit_of_each_version():
    before = {"warning": 0.2, "critical": 0.5, "for_warning": "0s", "relative_to": ""}
    after = {"warning": 0.25, "critical": 0.5, "for_warning": "5m", "relative_to": ""}
    assert formatting.value_changes(before, after, "seconds") == [
        ("for_warning", "0s", "5m"),
        ("warning", "200 ms", "250 ms"),
    ]
    backup = formatting.value_changes({"warning": 93600}, {"warning": 108000}, "duration")
    assert backup == [("warning", "26h", "30h")]
    # a version made relative: its levels are percent changes, the old ones milliseconds
    made_relative = formatting.value_changes(
        before, after | {"relative_to": "7d", "warning": 20}, "seconds"
    )
    assert ("warning", "200 ms", "20 %") in made_relative
    assert ("relative_to", "none", "7d") in made_relative
    alert = formatting.value_changes({"severities": ["warning"]}, {"severities": []}, None)
    assert alert == [("severities", "warning", "none")]
