"""PromQL helpers that every layer may use: Prometheus's duration syntax and label matchers.

Pure functions with no Django or network dependency, so that models, forms, the rule export and
the playbook readers share one spelling of each rule.
"""

from __future__ import annotations

import json
import re

# Prometheus's own duration syntax: units largest first, each at most once ("1h30m", not "30m1h").
DURATION = re.compile(r"^(?=\d)(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}

# Where a metric's ``scoped_query`` takes the label matchers of a threshold's scope.
SCOPE_PLACEHOLDER = "$scope"


def duration_seconds(text: str) -> float:
    """Prometheus duration ("90s", "1h30m", "7d") in seconds."""
    if not DURATION.match(text):
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 7d")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text))


def scope_matchers(scope: dict[str, str]) -> str:
    """``{"tenant_tier": "enterprise"}`` → ``tenant_tier="enterprise"``, in label order. A JSON
    string is a valid PromQL string when only quotes, backslashes and control characters are
    escaped (PromQL refuses the surrogate pairs JSON would write for an emoji)."""
    return ",".join(
        f"{name}={json.dumps(value, ensure_ascii=False)}" for name, value in sorted(scope.items())
    )
