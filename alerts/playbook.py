"""The ``alerts:`` and ``thresholds:`` sections of the playbook file, read into plain data.

Called by ``controlpanel.playbook.parse`` with the one ``Checker`` of the whole file, so a
mistake here is reported with its line like any other playbook problem. Thresholds are read
against the metrics section (``metrics.playbook.read_metrics``), which sits below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.threshold_rules import Kind, level_problems
from core.choices import Direction, Severity
from core.playbook_reader import Checker, LineMap
from metrics.playbook import Metric

DIRECTIONS = tuple(Direction.values)
SEVERITIES = tuple(Severity.values)
# The alert names the playbook itself uses; the file must define each of them.
PLAYBOOK_ALERTS = (
    "LeanVibeHighResponseTime",
    "LeanVibeHighErrorRate",
    "HighCPUUsage",
    "HighMemoryUsage",
    "Neo4jHighConnections",
    "Neo4jSlowQueries",
    "LowTenantSignupRate",
)


@dataclass(frozen=True)
class Alert:
    name: str
    summary: str
    severities: tuple[str, ...]
    service: str


@dataclass(frozen=True)
class Threshold:
    key: str
    metric: str
    alert: str
    direction: str
    warning: float
    critical: float | None
    for_warning: str
    for_critical: str
    scope: tuple[tuple[str, str], ...] = ()
    relative_to: str = ""


def read_alerts(check: Checker, section: LineMap) -> dict[str, Alert]:
    """The ``alerts:`` section, by name; the playbook's own alerts must all be there."""
    out = {}
    for name, item in section.items():
        where = f"alerts.{name}"
        if not isinstance(item, dict):
            check.add(section, f"{where} must be a mapping")
            continue
        severities = check.names(item, "severities", where, SEVERITIES)
        if not severities:
            check.add(item, f"{where}.severities must name warning and/or critical")
        out[name] = Alert(
            name, check.text(item, "summary", where), severities, check.text(item, "service", where)
        )
    for name in PLAYBOOK_ALERTS:
        if name not in out:
            check.add(section, f"alerts: the playbook's alert {name} is missing")
    return out


def read_thresholds(
    check: Checker, section: Any, metrics: dict[str, Metric], alerts: dict[str, Alert]
) -> tuple[Threshold, ...]:
    """The ``thresholds:`` list, each on a metric from ``metrics.playbook.read_metrics`` and
    an alert from ``read_alerts``; every alert needs at least one threshold."""
    if not isinstance(section, list):
        check.add(None, "thresholds must be a list")
        return ()
    out: list[Threshold] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(section):
        where = f"thresholds[{index}]"
        if not isinstance(item, dict):
            check.add(None, f"{where} must be a mapping")
            continue
        key = check.text(item, "key", where)
        where = f"thresholds[{key or index}]"
        if key in seen:
            check.add(item, f"{where}: duplicate threshold key (first on line {seen[key]})")
        seen[key] = getattr(item, "line", 0)
        metric = check.text(item, "metric", where)
        if metric and metric not in metrics:
            check.add(
                item, f"{where}.metric {metric!r} is not defined under metrics", field="metric"
            )
        alert = check.text(item, "alert", where)
        if alert and alert not in alerts:
            check.add(item, f"{where}.alert {alert!r} is not defined under alerts", field="alert")
        scope = item.get("scope") or {}
        if not isinstance(scope, dict):
            check.add(item, f"{where}.scope must be a mapping of label to value")
            scope = {}
        group_by = metrics[metric].group_by if metric in metrics else ()
        direction = check.choice(item, "direction", where, DIRECTIONS)
        warning = check.number(item, "warning", where)
        critical = check.number(item, "critical", where, required=False)
        sustained = item.get("for", "0s")
        if isinstance(sustained, dict):
            for_warning = check.duration(item, sustained.get("warning"), f"{where}.for.warning")
            for_critical = check.duration(item, sustained.get("critical"), f"{where}.for.critical")
        else:
            for_warning = for_critical = check.duration(
                item, sustained, f"{where}.for", field="for"
            )
        relative_to = item.get("relative_to", "")
        if relative_to:
            relative_to = check.duration(item, relative_to, f"{where}.relative_to")
        problems = level_problems(
            direction=direction,
            warning=warning,
            critical=critical,
            is_relative=bool(relative_to),
            scope=scope,
            group_by=group_by,
            severities=alerts[alert].severities if alert in alerts else None,
        )
        for problem in problems:
            if problem.kind == Kind.UNKNOWN_SCOPE:
                for label in problem.labels:
                    check.add(
                        item,
                        f"{where}.scope: {metric} has no {label!r} label to scope by "
                        f"(it is grouped by {', '.join(group_by) or 'nothing'})",
                    )
            elif problem.kind == Kind.ORDER:
                check.add(
                    item,
                    f"{where}: critical ({critical:g}) must lie {direction} warning "
                    f"({warning:g}) for a threshold on values {direction} it",
                )
            elif problem.kind == Kind.NO_CRITICAL:
                check.add(item, f"{where}: {alert} has no critical severity")
            else:
                check.add(
                    item,
                    f"{where}: a relative threshold is a percent change: use "
                    f"negative values below the baseline, positive above it",
                )
        out.append(
            Threshold(
                key=key,
                metric=metric,
                alert=alert,
                direction=direction,
                warning=warning if warning is not None else 0.0,
                critical=critical,
                for_warning=for_warning,
                for_critical=for_critical,
                scope=tuple(sorted((str(k), str(v)) for k, v in scope.items())),
                relative_to=relative_to,
            )
        )
    used = {t.alert for t in out}
    for name in alerts:
        if name not in used:
            check.add(None, f"alerts.{name} has no threshold")
    return tuple(out)
