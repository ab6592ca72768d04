"""Do the panel and Prometheus agree? The panel evaluates its checks itself; Prometheus runs
the rules exported from the same thresholds. For each check, the panel's state is compared with
the alerts Prometheus holds for that threshold and series (its ``ALERTS``, as the rules API
reports them), and each exported rule shows its health."""

from __future__ import annotations

from dataclasses import dataclass

from alerts.models import Check
from core.choices import Severity, State, badness_rank
from integrations.prometheus import RULE_FIRING, RuleState

# What Prometheus can say about a check: the worst alert it holds for it.


@dataclass(frozen=True)
class Comparison:
    check: Check
    panel: str
    prometheus: str  # ok, pending, warning, critical; "no rule" or "not evaluated" otherwise
    verdict: str  # agree, differ, cannot compare

    @property
    def agrees(self) -> bool:
        return self.verdict == "agree"


def prometheus_state(check: Check, rules: list[RuleState]) -> str:
    """The worst of the alerts Prometheus holds for this check's threshold and series: firing
    alerts by their severity, pending ones as pending, none as ok."""
    worst: str = State.OK
    for rule in rules:
        if rule.labels.get("threshold") != check.threshold.key:
            continue
        for alert in rule.alerts:
            labels = alert.get("labels", {})
            if any(labels.get(k) != v for k, v in check.labels.items()):
                continue
            if alert.get("state") == RULE_FIRING:
                state = labels.get("severity", rule.labels.get("severity", Severity.WARNING))
            else:
                state = State.PENDING
            if badness_rank(state) < badness_rank(worst):
                worst = state
    return worst


def compare(checks: list[Check], rules: list[RuleState]) -> list[Comparison]:
    loaded = {rule.labels.get("threshold") for rule in rules}
    evaluated = {rule.labels.get("threshold") for rule in rules if rule.health != "unknown"}
    out = []
    for check in checks:
        if check.threshold.key not in loaded:
            out.append(Comparison(check, check.state, "no rule", "cannot compare"))
            continue
        if check.threshold.key not in evaluated:  # loaded, not evaluated yet
            out.append(Comparison(check, check.state, "not evaluated", "cannot compare"))
            continue
        theirs = prometheus_state(check, rules)
        if check.state in State.UNKNOWN:
            verdict = "cannot compare"  # the panel has no value to judge; Prometheus neither
        elif check.state == theirs:
            verdict = "agree"
        else:
            verdict = "differ"
        out.append(Comparison(check, check.state, theirs, verdict))
    return out
