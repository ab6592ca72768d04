"""The panel's thresholds as Prometheus alerting rules, in the playbook's template format.

One rule per threshold and severity, in a group per service (``leanvibe.<service>.rules``), with
the playbook's alert names, ``for:``, the labels ``severity``, ``service`` and the scope labels,
and the annotations ``summary``, ``description`` (with ``{{ $value }}``) and ``runbook_url``.

Each form of threshold becomes PromQL that means what the panel's own evaluation means:
- a scope (``tenant_tier="enterprise"``) keeps only that series, by matching the query's result
  against a one-sample vector carrying the scope's labels;
- a relative threshold compares the query with its own value a window earlier (a subquery with
  ``offset``), as a percent change that keeps its sign;
- a minimum-volume guard drops series with too little traffic behind a ratio.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from alerts.models import Threshold
from core import units
from core.choices import COMPARATOR, Severity, Unit
from core.formatting import exact_level, exact_number
from core.promql import duration_seconds

logger = logging.getLogger(__name__)

RULE_FILE_NAME = "leanvibe.rules.yml"
# The evaluation step of relative thresholds' past window, as in the panel (one minute).
PAST_RESOLUTION = "1m"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _scope_vector(scope: dict[str, str]) -> str:
    """A one-sample vector carrying the scope's labels, to match a query's series against."""
    expr = "vector(1)"
    for name, value in sorted(scope.items()):
        expr = f'label_replace({expr}, "{name}", "{_escape(value)}", "", "")'
    return expr


def value_expr(threshold: Threshold) -> str:
    """The PromQL of the value the threshold compares: the metric's query, as a percent change
    against the past window for relative thresholds, kept to its scope."""
    metric = threshold.metric
    expr = f"({metric.query})"
    if threshold.relative_to:
        window = f"[{PAST_RESOLUTION}:{PAST_RESOLUTION}] offset {threshold.relative_to}"
        past = f"last_over_time({expr}{window})"
        expr = f"(({expr} / {past}) - 1) * 100"
    if threshold.scope:
        labels = ", ".join(sorted(threshold.scope))
        expr = f"({expr} * on({labels}) group_left() {_scope_vector(threshold.scope)})"
    return expr


def rule_expr(threshold: Threshold, level: float) -> str:
    expr = f"{value_expr(threshold)} {COMPARATOR[threshold.direction]} {exact_number(level)}"
    metric = threshold.metric
    if metric.volume_query and metric.min_volume is not None:
        group = ", ".join(metric.group_by)
        expr = (
            f"({expr}) and on({group}) ({metric.volume_query}) >= {exact_number(metric.min_volume)}"
        )
    return expr


def _scaled(scale: str, digits: int, symbol: str) -> str:
    """``$value`` in a display unit its base unit is scaled to ("250 ms" for 0.25 s). Prometheus's
    templates cannot multiply, but can ask Prometheus: ``0.25 * 1000`` is a scalar query."""
    ask = f'printf "%.6g * {scale}" $value | query | first | value'
    return "{{ " + ask + f' | printf "%.{digits}f"' + " }} " + symbol


def _value_template(unit: str, relative: bool) -> str:
    """How the alert's description shows ``$value`` (Prometheus's template functions), in the
    panel's display unit: "236 ms" for a latency, "10.5 %" for a ratio, "1d 6h 0m 0s" for an
    age (humanizeDuration: the nearest Prometheus has to "30h")."""
    if relative:
        return '{{ $value | printf "%.1f" }} %'
    if unit == Unit.SECONDS:
        return _scaled("1000", 0, "ms")
    if unit == Unit.RATIO:
        return _scaled("100", 1, "%")
    if unit == Unit.DURATION:
        return "{{ $value | humanizeDuration }}"
    symbol = units.display_unit(unit).symbol
    return '{{ $value | printf "%.4g" }}' + (f" {symbol}" if symbol else "")


def rules_for(threshold: Threshold) -> list[dict[str, Any]]:
    """The warning and critical rules of one threshold."""
    metric, alert = threshold.metric, threshold.alert
    scope = ", ".join(f"{k}={v}" for k, v in sorted(threshold.scope.items()))
    relative = bool(threshold.relative_to)
    out = []
    for severity, level, hold in (
        (Severity.WARNING.value, threshold.warning, threshold.for_warning),
        (Severity.CRITICAL.value, threshold.critical, threshold.for_critical),
    ):
        if level is None or severity not in alert.severities:
            continue
        subject = metric.name + (f" for {scope}" if scope else "")
        value = _value_template(metric.unit, relative)
        if relative:
            subject = f"{subject} changed by {value} against {threshold.relative_to} earlier"
        else:
            subject = f"{subject} is {value}"
        level_text = f"{threshold.direction} {exact_level(level, metric.unit, relative)}"
        held = f" for {hold}" if duration_seconds(hold) else ""
        out.append(
            {
                "alert": alert.name,
                "expr": rule_expr(threshold, level),
                "for": hold,
                "labels": {
                    "severity": severity,
                    "service": alert.service,
                    **dict(sorted(threshold.scope.items())),
                    "threshold": threshold.key,
                    "category": metric.category,
                },
                "annotations": {
                    "summary": f"{alert.summary}" + (f" ({scope})" if scope else ""),
                    "description": f"{subject}: {severity}, {level_text}{held}.",
                    "runbook_url": f"{settings.PANEL_URL}/runbooks/{alert.name}",
                },
            }
        )
    return out


def export_rules(thresholds: Iterable[Threshold] | None = None) -> dict[str, Any]:
    """Every threshold's rules, grouped by service, in a stable order."""
    if thresholds is None:
        thresholds = Threshold.objects.select_related("metric", "alert").order_by(
            "alert__service", "alert__name", "key"
        )
    groups: dict[str, list[dict[str, Any]]] = {}
    for threshold in thresholds:
        groups.setdefault(threshold.alert.service, []).extend(rules_for(threshold))
    return {
        "groups": [
            {"name": f"leanvibe.{service}.rules", "rules": rules}
            for service, rules in sorted(groups.items())
        ]
    }


def render(rules: dict[str, Any]) -> str:
    header = (
        "# Generated by the LeanVibe control panel from its thresholds (manage.py export_rules).\n"
        "# Edit thresholds in the panel's admin, not here: the file is rewritten on every change.\n"
    )
    return header + yaml.safe_dump(rules, sort_keys=False, width=1000, allow_unicode=True)


class RuleFileRejected(Exception):
    """promtool refused the rules: the file in force is left as it was."""


def write_rule_file(directory: Path | None = None) -> Path:
    """Write the rules where Prometheus loads them, atomically (a reload never sees half a
    file, two writers never mix), after promtool accepted them where it is installed."""
    directory = directory or settings.PROMETHEUS_RULES_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / RULE_FILE_NAME
    with tempfile.NamedTemporaryFile(
        "w", dir=directory, prefix=".leanvibe-", suffix=".yml.tmp", delete=False
    ) as handle:
        handle.write(render(export_rules()))
    temporary = Path(handle.name)
    promtool = shutil.which("promtool")
    if promtool:
        check = subprocess.run(
            [promtool, "check", "rules", str(temporary)], capture_output=True, text=True
        )
        if check.returncode != 0:
            temporary.unlink()
            raise RuleFileRejected((check.stdout + check.stderr).strip()[-500:])
    temporary.replace(path)
    return path
