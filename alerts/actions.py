"""Writes that matter in the alerts app, each in one transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Model

from alerts import playbook
from alerts.models import Alert, Threshold
from core.playbook_reader import LoadReport
from metrics.actions import upsert
from metrics.models import Metric


def _snapshot(obj: Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@transaction.atomic
def load_alerts_and_thresholds(
    alerts: dict[str, playbook.Alert], thresholds: tuple[playbook.Threshold, ...]
) -> LoadReport:
    """Alerts and thresholds follow the playbook's sections (read by
    ``alerts.playbook.read_alerts`` and ``read_thresholds``); a threshold follows the file
    too unless an administrator tuned it, which the report says, and one no longer in the
    file is left as it is and named. The thresholds' metrics must be loaded first
    (``metrics.actions.load_metrics_and_dashboards``). Running it twice changes nothing the
    second time."""
    report = LoadReport()
    for alert in alerts.values():
        outcome = upsert(
            Alert,
            {"name": alert.name},
            {
                "summary": alert.summary,
                "severities": list(alert.severities),
                "service": alert.service,
            },
        )
        report.count(outcome, f"alert {alert.name}")
    metric_rows = {m.key: m for m in Metric.objects.all()}
    alert_rows = {a.name: a for a in Alert.objects.all()}
    for item in thresholds:
        values = {
            "direction": item.direction,
            "warning": item.warning,
            "critical": item.critical,
            "for_warning": item.for_warning,
            "for_critical": item.for_critical,
            "relative_to": item.relative_to,
        }
        threshold = Threshold.objects.filter(key=item.key).first()
        if threshold is None:
            Threshold.objects.create(
                key=item.key,
                metric=metric_rows[item.metric],
                alert=alert_rows[item.alert],
                scope=dict(item.scope),
                playbook_values=values,
                **values,
            )
            report.created.append(f"threshold {item.key}")
            continue
        before = _snapshot(threshold)
        threshold.metric, threshold.alert = metric_rows[item.metric], alert_rows[item.alert]
        threshold.scope = dict(item.scope)
        if threshold.is_tuned:
            changed = {k: v for k, v in threshold.current_values().items() if values[k] != v}
            if changed:
                report.kept_tuned.append(
                    f"{item.key}: {changed} (the playbook says { {k: values[k] for k in changed} })"
                )
        else:
            for name, value in values.items():
                setattr(threshold, name, value)
        threshold.playbook_values = values
        if _snapshot(threshold) != before:
            threshold.save()
            report.updated.append(f"threshold {item.key}")
    known = {t.key for t in thresholds}
    report.not_in_playbook = sorted(
        Threshold.objects.exclude(key__in=known).values_list("key", flat=True)
    )
    return report
