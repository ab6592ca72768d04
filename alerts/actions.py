"""Writes that matter in the alerts app, each in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from alerts.models import Alert, FiringAlert, Threshold
from metrics.models import Dashboard, Metric, Panel
from metrics.playbook import Playbook


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept_tuned: list[str] = field(default_factory=list)
    not_in_playbook: list[str] = field(default_factory=list)
    runbooks: list[str] = field(default_factory=list)
    checklists: list[str] = field(default_factory=list)

    def count(self, outcome: str, name: str) -> None:
        if outcome == "created":
            self.created.append(name)
        elif outcome == "changed":
            self.updated.append(name)

    def lines(self) -> list[str]:
        out = [f"{len(self.created)} created, {len(self.updated)} updated"]
        out += [f"kept tuned value: {line}" for line in self.kept_tuned]
        out += [f"not in the playbook any more (left as is): {key}" for key in self.not_in_playbook]
        out += self.runbooks
        out += self.checklists
        return out


def _snapshot(obj: Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _upsert(model: type[Model], lookup: dict[str, Any], values: dict[str, Any]) -> str:
    """Create, change or leave alone; says which (a reload that changes nothing says so)."""
    obj = model._default_manager.filter(**lookup).first()
    if obj is None:
        model._default_manager.create(**lookup, **values)
        return "created"
    if all(getattr(obj, name) == value for name, value in values.items()):
        return "same"
    for name, value in values.items():
        setattr(obj, name, value)
    obj.save()
    return "changed"


@transaction.atomic
def load_playbook(playbook: Playbook) -> LoadReport:
    """Load a validated playbook: metrics, alerts and dashboards follow the file; thresholds
    follow it too unless an administrator tuned them, which the report says. Running it twice
    changes nothing the second time."""
    report = LoadReport()
    for metric in playbook.metrics.values():
        outcome = _upsert(
            Metric,
            {"key": metric.key},
            {
                "name": metric.name,
                "category": metric.category,
                "unit": metric.unit,
                "query": metric.query,
                "playbook_query": metric.playbook_query,
                "query_note": metric.query_note,
                "volume_query": metric.volume_query,
                "min_volume": metric.min_volume,
                "group_by": list(metric.group_by),
                "scoped_query": metric.scoped_query,
                "description": metric.description,
                "impact": metric.impact,
            },
        )
        report.count(outcome, f"metric {metric.key}")
    for alert in playbook.alerts.values():
        outcome = _upsert(
            Alert,
            {"name": alert.name},
            {
                "summary": alert.summary,
                "severities": list(alert.severities),
                "service": alert.service,
            },
        )
        report.count(outcome, f"alert {alert.name}")
    metrics = {m.key: m for m in Metric.objects.all()}
    alerts = {a.name: a for a in Alert.objects.all()}
    for item in playbook.thresholds:
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
                metric=metrics[item.metric],
                alert=alerts[item.alert],
                scope=dict(item.scope),
                playbook_values=values,
                **values,
            )
            report.created.append(f"threshold {item.key}")
            continue
        before = _snapshot(threshold)
        threshold.metric, threshold.alert = metrics[item.metric], alerts[item.alert]
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
    known = {t.key for t in playbook.thresholds}
    report.not_in_playbook = sorted(
        Threshold.objects.exclude(key__in=known).values_list("key", flat=True)
    )
    for position, board in enumerate(playbook.dashboards.values()):
        outcome = _upsert(
            Dashboard,
            {"slug": board.slug},
            {
                "title": board.title,
                "description": board.description,
                "audience": list(board.audience),
                "position": position,
            },
        )
        report.count(outcome, f"dashboard {board.slug}")
        dashboard = Dashboard.objects.get(slug=board.slug)
        wanted = [(p.metric, p.title) for p in board.panels]
        if [(p.metric.key, p.title) for p in dashboard.panels.select_related("metric")] == wanted:
            continue
        if outcome == "same":
            report.count("changed", f"dashboard {board.slug}")
        dashboard.panels.all().delete()
        Panel.objects.bulk_create(
            Panel(dashboard=dashboard, metric=metrics[p.metric], title=p.title, position=i)
            for i, p in enumerate(board.panels)
        )
    # Every alert has a runbook: the reader refuses a playbook without one for each.
    from runbooks.actions import load_runbooks

    report.runbooks = load_runbooks(playbook)
    from checklists.actions import load_templates

    report.checklists = load_templates(playbook)
    return report


@transaction.atomic
def acknowledge_alert(alert: FiringAlert, *, actor: User, comment: str) -> FiringAlert:
    """Someone is on it: who, when and what they said. A second acknowledgement replaces the
    first (a hand-over at the end of a shift); the row keeps the last one, Alertmanager's
    deliveries never touch it, and an alert that fires again with a new start is a new row."""
    FiringAlert.objects.filter(pk=alert.pk).update(
        acknowledged_by=actor, acknowledged_at=timezone.now(), ack_comment=comment
    )
    alert.refresh_from_db()
    return alert
