"""The rules a threshold's levels obey, decided once for the playbook reader and the tuning
form alike; each caller says the problem in its own words (a line of the file, a form field).

Pure: plain values in, problems out.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from core.choices import Direction, Severity


class Kind:
    ORDER = "order"  # critical is not past warning in the bad direction
    RELATIVE_SIGN = "relative_sign"  # a percent change with the sign of the other direction
    UNKNOWN_SCOPE = "unknown_scope"  # scope labels the metric's result does not carry
    NO_CRITICAL = "no_critical"  # a critical level for an alert without a critical severity


@dataclass(frozen=True)
class Problem:
    field: str
    kind: str
    labels: tuple[str, ...] = ()


def level_problems(
    *,
    direction: str | None,
    warning: float | None,
    critical: float | None,
    is_relative: bool,
    scope: Collection[str],
    group_by: Collection[str],
    severities: Collection[str] | None,
) -> list[Problem]:
    """Every rule the levels break. ``severities`` None: the alert is not known (yet)."""
    found = []
    if direction and warning is not None and critical is not None:
        above = direction == Direction.ABOVE
        if not (critical > warning if above else critical < warning):
            found.append(Problem("critical", Kind.ORDER))
    # A relative level is a signed percent change: a drop below, a rise above.
    is_drop = direction == Direction.BELOW
    if is_relative and direction and warning is not None and is_drop != (warning < 0):
        found.append(Problem("warning", Kind.RELATIVE_SIGN))
    unknown = tuple(sorted(set(scope) - set(group_by)))
    if unknown:
        found.append(Problem("scope", Kind.UNKNOWN_SCOPE, unknown))
    if critical is not None and severities is not None and Severity.CRITICAL not in severities:
        found.append(Problem("critical", Kind.NO_CRITICAL))
    return found
