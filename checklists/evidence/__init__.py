"""Evidence the panel gathers by itself for a run's items, kept as a JSON snapshot on the run
so that it reads the same later.

Each kind of evidence (``checklists.choices.Evidence``) has a gatherer in the module of its
source, returning a ``Result`` (``result.py``, which also describes the stored JSON). A source
that did not answer (Prometheus, Alertmanager) is an ``error`` with the reason, never an "ok":
the item then says it could not be verified.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.utils import timezone

from checklists.choices import Evidence
from checklists.evidence.alerts import overnight_alerts, recent_incidents
from checklists.evidence.backups import backup
from checklists.evidence.capacity import performance_capacity
from checklists.evidence.configuration import alert_configuration
from checklists.evidence.kpis import business_baselines, business_trends
from checklists.evidence.monitoring import dashboard_health, monitoring_health
from checklists.evidence.noise import alert_accuracy
from checklists.evidence.result import (
    ATTENTION,
    ERROR,
    OK,
    UNVERIFIED,
    Gatherer,
    Result,
    Table,
    Verdict,
)
from checklists.evidence.sla import last_month_sla
from checklists.evidence.team import team_changes
from checklists.models import ChecklistRun

log = logging.getLogger(__name__)


def not_verifiable(now: datetime) -> Result:
    return Result(UNVERIFIED, "The panel cannot verify this item: say in the note how it was done.")


GATHERERS: dict[str, Gatherer] = {
    Evidence.NONE: not_verifiable,
    Evidence.OVERNIGHT_ALERTS: overnight_alerts,
    Evidence.DASHBOARD_HEALTH: dashboard_health,
    Evidence.BACKUP: backup,
    Evidence.BUSINESS_TRENDS: business_trends,
    Evidence.ALERT_ACCURACY: alert_accuracy,
    Evidence.PERFORMANCE_CAPACITY: performance_capacity,
    Evidence.RECENT_INCIDENTS: recent_incidents,
    Evidence.MONITORING_HEALTH: monitoring_health,
    Evidence.SLA: last_month_sla,
    Evidence.BUSINESS_BASELINES: business_baselines,
    Evidence.ALERT_CONFIGURATION: alert_configuration,
    Evidence.TEAM_CHANGES: team_changes,
}


def gather(run: ChecklistRun, now: datetime | None = None) -> dict[str, Any]:
    """The snapshot, as stored on the run, for every kind of evidence the run's items ask
    for. A gatherer that fails for a reason of its own is recorded as an error, and the rest
    still gathered."""
    now = now or timezone.now()
    kinds = list(dict.fromkeys(run.items.values_list("evidence", flat=True)))
    items: dict[str, Any] = {}
    problems = []
    for kind in kinds:
        gatherer = GATHERERS.get(kind, not_verifiable)
        try:
            result = gatherer(now)
        except Exception as exc:  # one broken source must not cost the others
            log.exception("evidence %s for %s failed", kind, run)
            result = Result(ERROR, f"Could not be gathered: {type(exc).__name__}: {exc}")
        items[kind] = result.to_dict()
        if result.verdict == ERROR:
            problems.append(kind)
    return {"gathered_at": now.isoformat(), "items": items, "problems": problems}


def is_incomplete(evidence: dict[str, Any]) -> bool:
    return not evidence or bool(evidence.get("problems"))


__all__ = [
    "ATTENTION",
    "ERROR",
    "GATHERERS",
    "OK",
    "UNVERIFIED",
    "Result",
    "Table",
    "Verdict",
    "alert_accuracy",
    "alert_configuration",
    "backup",
    "business_baselines",
    "business_trends",
    "dashboard_health",
    "gather",
    "is_incomplete",
    "last_month_sla",
    "monitoring_health",
    "not_verifiable",
    "overnight_alerts",
    "performance_capacity",
    "recent_incidents",
    "team_changes",
]
