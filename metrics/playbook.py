"""The playbook file (``playbooks/leanvibe.yaml``) read into plain data, validated whole.

Every problem is reported with its line and field, all at once, before anything is used: a
playbook that is half right must not be half loaded. Duplicate keys, which YAML would silently
overwrite, are errors too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CATEGORIES = ("application", "infrastructure", "database", "cache", "business")
UNITS = ("seconds", "percent", "rps", "count", "usd", "ratio", "per_hour")
DIRECTIONS = ("above", "below")
SEVERITIES = ("warning", "critical")
AUDIENCES = ("sre", "business")
DASHBOARD_SLUGS = (
    "leanvibe-overview",
    "kubernetes-overview",
    "business-metrics",
    "database-performance",
)
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
# Prometheus's own duration syntax: units largest first, each at most once ("1h30m", not "30m1h").
DURATION = re.compile(r"^(?=\d)(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "playbooks" / "leanvibe.yaml"


class PlaybookError(ValueError):
    """The file is not a valid playbook; ``problems`` lists every finding with its line."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{listing}")


def duration_seconds(text: str) -> float:
    """Prometheus duration ("90s", "1h30m", "7d") in seconds."""
    if not DURATION.match(text):
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 7d")
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text))


# Where a metric's ``scoped_query`` takes the label matchers of a threshold's scope.
SCOPE_PLACEHOLDER = "$scope"


def scope_matchers(scope: dict[str, str]) -> str:
    """``{"tenant_tier": "enterprise"}`` → ``tenant_tier="enterprise"``, in label order. A JSON
    string is a valid PromQL string when only quotes, backslashes and control characters are
    escaped (PromQL refuses the surrogate pairs JSON would write for an emoji)."""
    return ",".join(
        f"{name}={json.dumps(value, ensure_ascii=False)}" for name, value in sorted(scope.items())
    )


# --- the data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    category: str
    unit: str
    query: str
    description: str
    impact: str
    group_by: tuple[str, ...] = ()
    playbook_query: str = ""
    query_note: str = ""
    volume_query: str = ""
    min_volume: float | None = None
    scoped_query: str = ""


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


@dataclass(frozen=True)
class Alert:
    name: str
    summary: str
    severities: tuple[str, ...]
    service: str


@dataclass(frozen=True)
class Panel:
    title: str
    metric: str


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    audience: tuple[str, ...]
    description: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class RunbookAction:
    kind: str
    label: str
    params: dict[str, Any]
    command: str = ""


@dataclass(frozen=True)
class RunbookStep:
    title: str
    time_box: str
    note: str
    actions: tuple[RunbookAction, ...]


@dataclass(frozen=True)
class Runbook:
    """A response procedure: for an alert (keyed by its name), a troubleshooting guide or the
    log-analysis patterns (``kind``), with ordered steps and their actions."""

    name: str
    kind: str
    title: str
    severity: str
    impact: str
    escalation: tuple[str, ...]
    steps: tuple[RunbookStep, ...]


@dataclass(frozen=True)
class Playbook:
    title: str
    version: str
    contacts: dict[str, str]
    metrics: dict[str, Metric]
    thresholds: tuple[Threshold, ...]
    alerts: dict[str, Alert]
    dashboards: dict[str, Dashboard]
    runbooks: dict[str, Runbook] = field(default_factory=dict)
    # The maintenance checklists by cadence (checklists.playbook.ChecklistSpec).
    checklists: dict[str, Any] = field(default_factory=dict)


# --- reading with line numbers ----------------------------------------------------------


class _Map(dict):
    """A mapping that remembers the line it started on and each key's line."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    duplicates: list[str]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            loader.duplicates.append(
                f"line {key_node.start_mark.line + 1}: duplicate key {key!r}"
                f" (first on line {result.key_lines[key]})"
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: Any, message: str, *, field: str = "") -> None:
        """Record a problem at the line of ``field`` in ``where`` (or of ``where`` itself)."""
        line = getattr(where, "key_lines", {}).get(field) or getattr(where, "line", None)
        self.problems.append(f"line {line}: {message}" if line else message)

    def mapping(self, parent: Any, key: str, where: str) -> _Map:
        value = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(value, _Map):
            self.add(parent, f"{where}.{key} must be a mapping")
            return _Map()
        return value

    def text(self, item: Any, key: str, where: str, *, required: bool = True) -> str:
        value = item.get(key, "") if isinstance(item, dict) else ""
        if value is None:
            value = ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.add(item, f"{where}.{key} must be {'non-empty ' if required else ''}text")
            return ""
        return " ".join(value.split())

    def choice(self, item: Any, key: str, where: str, choices: tuple[str, ...]) -> str:
        value = item.get(key) if isinstance(item, dict) else None
        if value not in choices:
            self.add(item, f"{where}.{key} is {value!r}; expected one of {', '.join(choices)}")
            return choices[0]
        return str(value)

    def number(self, item: Any, key: str, where: str, *, required: bool = True) -> float | None:
        value = item.get(key) if isinstance(item, dict) else None
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(item, f"{where}.{key} must be a number, not {value!r}")
            return None
        return float(value)

    def duration(self, item: Any, value: Any, where: str, *, field: str = "") -> str:
        if not isinstance(value, str) or not DURATION.match(value):
            self.add(
                item,
                f"{where} is {value!r}; expected a duration like 30s, 5m, 1h or 7d",
                field=field,
            )
            return "0s"
        return value

    def names(self, item: Any, key: str, where: str, choices: tuple[str, ...] = ()) -> tuple:
        value = item.get(key, []) if isinstance(item, dict) else []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(item, f"{where}.{key} must be a list of names")
            return ()
        wrong = [v for v in value if choices and v not in choices]
        if wrong:
            self.add(item, f"{where}.{key} has {', '.join(wrong)}; expected {', '.join(choices)}")
        return tuple(value)


def load(path: Path | str = DEFAULT_PATH) -> Playbook:
    """Read and validate the playbook; raise ``PlaybookError`` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise PlaybookError(path, [f"cannot be read: {exc}"]) from exc
    return parse(text, path)


def parse(text: str, path: Path | str = "<playbook>") -> Playbook:
    loader = _LineLoader(text)
    loader.duplicates = []
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise PlaybookError(path, [f"not valid YAML: {exc}"]) from exc
    finally:
        loader.dispose()
    check = _Checker()
    check.problems.extend(loader.duplicates)
    if not isinstance(document, dict):
        raise PlaybookError(path, ["the file must be a mapping with playbook, metrics, ..."])
    allowed = {"playbook", "metrics", "thresholds", "alerts", "dashboards", "runbooks"}
    allowed.add("checklists")
    for key in sorted(set(document) - allowed):
        check.add(document, f"unknown top-level key {key!r}; expected {', '.join(sorted(allowed))}")
    header = check.mapping(document, "playbook", "")
    contacts = check.mapping(header, "contacts", "playbook")
    metrics = _metrics(check, check.mapping(document, "metrics", ""))
    alerts = _alerts(check, check.mapping(document, "alerts", ""))
    thresholds = _thresholds(check, document.get("thresholds"), metrics, alerts)
    dashboards = _dashboards(check, check.mapping(document, "dashboards", ""), metrics)
    runbooks = _runbooks(check, check.mapping(document, "runbooks", ""), alerts, contacts)
    from checklists.playbook import read_checklists

    checklists = read_checklists(check, document.get("checklists"))
    if check.problems:
        raise PlaybookError(path, check.problems)
    return Playbook(
        title=check.text(header, "title", "playbook"),
        version=str(header.get("version", "")),
        contacts={str(k): str(v) for k, v in contacts.items()},
        metrics=metrics,
        thresholds=thresholds,
        alerts=alerts,
        dashboards=dashboards,
        runbooks=runbooks,
        checklists=checklists,
    )


def _metrics(check: _Checker, section: _Map) -> dict[str, Metric]:
    out = {}
    known = {
        "name",
        "category",
        "unit",
        "query",
        "description",
        "impact",
        "group_by",
        "playbook_query",
        "query_note",
        "volume_query",
        "min_volume",
        "scoped_query",
    }
    for key, item in section.items():
        where = f"metrics.{key}"
        if not isinstance(item, dict):
            check.add(section, f"{where} must be a mapping")
            continue
        for extra in sorted(set(item) - known):
            check.add(item, f"{where}: unknown field {extra!r}")
        volume_query = check.text(item, "volume_query", where, required=False)
        min_volume = check.number(item, "min_volume", where, required=False)
        if bool(volume_query) != (min_volume is not None):
            check.add(item, f"{where}: volume_query and min_volume go together")
        if check.text(item, "playbook_query", where, required=False) and not check.text(
            item, "query_note", where, required=False
        ):
            check.add(item, f"{where}: a changed query needs a query_note saying why")
        scoped_query = check.text(item, "scoped_query", where, required=False)
        if scoped_query and SCOPE_PLACEHOLDER not in scoped_query:
            check.add(
                item,
                f"{where}.scoped_query must say where the scope goes ({SCOPE_PLACEHOLDER})",
                field="scoped_query",
            )
        if scoped_query and not item.get("group_by"):
            check.add(
                item,
                f"{where}.scoped_query needs group_by (the labels a scope names)",
                field="scoped_query",
            )
        out[key] = Metric(
            key=key,
            name=check.text(item, "name", where),
            category=check.choice(item, "category", where, CATEGORIES),
            unit=check.choice(item, "unit", where, UNITS),
            query=check.text(item, "query", where),
            description=check.text(item, "description", where),
            impact=check.text(item, "impact", where),
            group_by=check.names(item, "group_by", where),
            playbook_query=check.text(item, "playbook_query", where, required=False),
            query_note=check.text(item, "query_note", where, required=False),
            volume_query=volume_query,
            min_volume=min_volume,
            scoped_query=scoped_query,
        )
    return out


def _alerts(check: _Checker, section: _Map) -> dict[str, Alert]:
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


def _thresholds(
    check: _Checker, section: Any, metrics: dict[str, Metric], alerts: dict[str, Alert]
) -> tuple[Threshold, ...]:
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
        for label in scope:
            if label not in group_by:
                check.add(
                    item,
                    f"{where}.scope: {metric} has no {label!r} label to scope by "
                    f"(it is grouped by {', '.join(group_by) or 'nothing'})",
                )
        direction = check.choice(item, "direction", where, DIRECTIONS)
        warning = check.number(item, "warning", where)
        critical = check.number(item, "critical", where, required=False)
        if warning is not None and critical is not None:
            is_ordered = critical > warning if direction == "above" else critical < warning
            if not is_ordered:
                side = "above" if direction == "above" else "below"
                check.add(
                    item,
                    f"{where}: critical ({critical:g}) must lie {side} warning "
                    f"({warning:g}) for a threshold on values {direction} it",
                )
        if critical is not None and alert in alerts and "critical" not in alerts[alert].severities:
            check.add(item, f"{where}: {alert} has no critical severity")
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
            if warning is not None and (direction == "below") != (warning < 0):
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


def _dashboards(check: _Checker, section: _Map, metrics: dict[str, Metric]) -> dict[str, Dashboard]:
    out = {}
    for slug, item in section.items():
        where = f"dashboards.{slug}"
        if slug not in DASHBOARD_SLUGS:
            check.add(section, f"{where}: unknown dashboard; expected {', '.join(DASHBOARD_SLUGS)}")
        if not isinstance(item, dict):
            check.add(section, f"{where} must be a mapping")
            continue
        panels = []
        for index, panel in enumerate(item.get("panels") or []):
            if not isinstance(panel, dict):
                check.add(item, f"{where}.panels[{index}] must be a mapping")
                continue
            metric = check.text(panel, "metric", f"{where}.panels[{index}]")
            if metric and metric not in metrics:
                check.add(panel, f"{where}.panels[{index}].metric {metric!r} is not defined")
            panels.append(Panel(check.text(panel, "title", f"{where}.panels[{index}]"), metric))
        if not panels:
            check.add(item, f"{where}.panels must list at least one panel")
        out[slug] = Dashboard(
            slug,
            check.text(item, "title", where),
            check.names(item, "audience", where, AUDIENCES),
            check.text(item, "description", where),
            tuple(panels),
        )
    for slug in DASHBOARD_SLUGS:
        if slug not in out:
            check.add(section, f"dashboards: the playbook's dashboard {slug} is missing")
    return out


RUNBOOK_KINDS = ("alert", "guide", "logs")


def _runbooks(
    check: _Checker, section: _Map, alerts: dict[str, Alert], contacts: dict[str, Any]
) -> dict[str, Runbook]:
    """Every alert needs a runbook (the playbook's "every alert must have a clear response
    procedure"); guides and log patterns have runbooks of their own kinds."""
    from runbooks.kinds import check_parameters

    out = {}
    for name, item in section.items():
        where = f"runbooks.{name}"
        if not isinstance(item, dict):
            check.add(section, f"{where} must be a mapping")
            continue
        known = {"kind", "title", "severity", "impact", "escalation", "steps"}
        for extra in sorted(set(item) - known):
            check.add(item, f"{where}: unknown field {extra!r}", field=extra)
        kind = check.choice(item, "kind", where, RUNBOOK_KINDS)
        if kind == "alert" and name not in alerts:
            check.add(section, f"{where}: no alert named {name} under alerts", field=name)
        escalation = check.names(item, "escalation", where, tuple(contacts))
        steps = []
        raw_steps = item.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            check.add(item, f"{where}.steps must list at least one step", field="steps")
            raw_steps = []
        for index, step in enumerate(raw_steps, start=1):
            at = f"{where}.steps[{index}]"
            if not isinstance(step, dict):
                check.add(item, f"{at} must be a mapping", field="steps")
                continue
            for extra in sorted(set(step) - {"title", "time_box", "note", "actions"}):
                check.add(step, f"{at}: unknown field {extra!r}", field=extra)
            time_box = step.get("time_box") or ""
            if time_box:
                time_box = check.duration(step, time_box, f"{at}.time_box", field="time_box")
            actions = []
            for number, action in enumerate(step.get("actions") or [], start=1):
                spot = f"{at}.actions[{number}]"
                if not isinstance(action, dict):
                    check.add(step, f"{spot} must be a mapping", field="actions")
                    continue
                for extra in sorted(set(action) - {"kind", "label", "params", "command"}):
                    check.add(action, f"{spot}: unknown field {extra!r}", field=extra)
                kind_name = str(action.get("kind", ""))
                params = action.get("params") or {}
                for problem in check_parameters(kind_name, params):
                    at_field = "kind" if problem.startswith("unknown kind") else "params"
                    check.add(action, f"{spot}: {problem}", field=at_field)
                actions.append(
                    RunbookAction(
                        kind=kind_name,
                        label=check.text(action, "label", spot),
                        params=dict(params) if isinstance(params, dict) else {},
                        command=str(action.get("command") or "").strip(),
                    )
                )
            steps.append(
                RunbookStep(
                    title=check.text(step, "title", at),
                    time_box=time_box,
                    note=check.text(step, "note", at, required=False),
                    actions=tuple(actions),
                )
            )
        out[name] = Runbook(
            name=name,
            kind=kind,
            title=check.text(item, "title", where),
            severity=check.text(item, "severity", where, required=False),
            impact=check.text(item, "impact", where, required=False),
            escalation=escalation or tuple(contacts),
            steps=tuple(steps),
        )
    for name in alerts:
        if name not in out:
            check.add(section, f"runbooks: alert {name} has no runbook (every alert needs one)")
    return out


__all__ = ["Playbook", "PlaybookError", "Runbook", "duration_seconds", "load", "parse"]
