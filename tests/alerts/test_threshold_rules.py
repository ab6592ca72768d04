"""The rules of a threshold's levels: the one place the playbook reader and the tuning form ask."""

from __future__ import annotations

import pytest

from alerts.threshold_rules import Kind, level_problems


def kinds(**levels) -> list[str]:
    base = {
        "direction": "above",
        "warning": 1.0,
        "critical": 2.0,
        "is_relative": False,
        "scope": (),
        "group_by": (),
        "severities": ["warning", "critical"],
    }
    return [p.kind for p in level_problems(**(base | levels))]


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ({}, []),
        ({"critical": 0.5}, [Kind.ORDER]),
        ({"direction": "below", "warning": 60, "critical": 45}, []),
        ({"direction": "below", "warning": 60, "critical": 70}, [Kind.ORDER]),
        ({"critical": None}, []),
        ({"is_relative": True, "direction": "below", "warning": -10, "critical": -25}, []),
        (
            {"is_relative": True, "direction": "below", "warning": 10, "critical": -5},
            [Kind.RELATIVE_SIGN],
        ),
        ({"scope": ["tenant_tier"], "group_by": ["tenant_tier"]}, []),
        ({"scope": ["pod"], "group_by": ["tenant_tier"]}, [Kind.UNKNOWN_SCOPE]),
        ({"severities": ["warning"]}, [Kind.NO_CRITICAL]),
        ({"severities": None}, []),  # the alert is not known: nothing to say about it
    ],
)
def test_it_finds_every_rule_the_levels_break(levels, expected):
    assert kinds(**levels) == expected
