"""Writes that matter in the metrics app, each in one transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Model

from core.playbook_reader import LoadReport
from metrics import playbook
from metrics.models import Dashboard, Metric, Panel


def upsert(model: type[Model], lookup: dict[str, Any], values: dict[str, Any]) -> str:
    """Create, change or leave alone; says which (a reload that changes nothing says so).
    Shared by the section loaders of the apps above (alerts writes its alerts with it)."""
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
def load_metrics_and_dashboards(
    metrics: dict[str, playbook.Metric], dashboards: dict[str, playbook.Dashboard]
) -> LoadReport:
    """Metrics and dashboards follow the playbook's sections (read by
    ``metrics.playbook.read_metrics`` and ``read_dashboards``); a dashboard's panels are
    rewritten only when they differ from the file. Running it twice changes nothing the
    second time."""
    report = LoadReport()
    for metric in metrics.values():
        outcome = upsert(
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
                "better": metric.better,
                "description": metric.description,
                "impact": metric.impact,
            },
        )
        report.count(outcome, f"metric {metric.key}")
    rows = {m.key: m for m in Metric.objects.all()}
    for position, board in enumerate(dashboards.values()):
        outcome = upsert(
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
            Panel(dashboard=dashboard, metric=rows[p.metric], title=p.title, position=i)
            for i, p in enumerate(board.panels)
        )
    return report
