"""Evidence of the backups: the age of the newest successful one, as Prometheus has it."""

from __future__ import annotations

from datetime import datetime, timedelta

from alerts.models import Threshold
from checklists.evidence.result import ATTENTION, OK, UNVERIFIED, Result, failed, when
from core import formatting
from integrations import prometheus
from metrics.models import Metric

# Used when the playbook's backup metric or threshold is missing from the panel.
BACKUP_FALLBACK_QUERY = "time() - max(leanvibe_backup_last_success_timestamp_seconds)"
BACKUP_FALLBACK_LIMIT = 26 * 3600


def backup(now: datetime) -> Result:
    """Age of the newest successful backup (the backup metric), against its threshold."""
    metric = Metric.objects.filter(key="backup_age").first()
    threshold = Threshold.objects.filter(metric__key="backup_age").first()
    query = metric.query if metric else BACKUP_FALLBACK_QUERY
    limit = threshold.warning if threshold else BACKUP_FALLBACK_LIMIT
    answer = prometheus.instant_query(query, at=now.timestamp())
    if not answer.is_ok:
        return failed("Prometheus", answer.failure, answer.reason)
    if not answer.samples:
        return Result(
            UNVERIFIED,
            "Could not be verified: the backup metric "
            "(leanvibe_backup_last_success_timestamp_seconds) has no samples.",
            (("Query", query),),
        )
    age = answer.samples[0].value
    finished = now - timedelta(seconds=age)
    verdict = OK if age <= limit else ATTENTION
    return Result(
        verdict,
        f"Last successful backup {formatting.age(age)} ago ({when(finished)}); "
        f"{'within' if verdict == OK else 'OVER'} the {formatting.age(limit)} limit.",
        (
            ("Backup age", formatting.age(age)),
            ("Finished", when(finished)),
            ("Limit (warning threshold)", formatting.age(limit)),
            ("Query", query),
        ),
        values={"backup_age_seconds": round(age, 1), "limit_seconds": limit},
    )
