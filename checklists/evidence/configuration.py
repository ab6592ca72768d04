"""Evidence of the alert configuration: thresholds, notification channels and the rules
Prometheus runs."""

from __future__ import annotations

from datetime import datetime

from alerts.models import Threshold
from checklists.evidence.result import ATTENTION, OK, Result, Table
from integrations import prometheus
from notifications.models import NotificationChannel


def alert_configuration(now: datetime) -> Result:
    """Every threshold with its levels (and whether it was tuned), every notification channel
    with its recipients, and the health of the rules Prometheus runs."""
    thresholds = list(Threshold.objects.select_related("metric", "alert").order_by("key"))
    channels = list(NotificationChannel.objects.all())
    rules = prometheus.alerting_rules()
    enabled = [c for c in channels if c.is_enabled]
    rows = [
        (
            f"threshold {t.key}",
            f"{t.direction} {t.warning:g} / {t.critical if t.critical is not None else '—'} "
            f"for {t.for_warning}",
            "tuned" if t.is_tuned else "playbook values",
        )
        for t in thresholds
    ]
    rows += [
        (
            f"channel {c.name}",
            f"{c.get_kind_display()}: {c.target[:80]}",
            ("enabled" if c.is_enabled else "disabled")
            + f", {c.min_severity}+, {', '.join(c.categories) or 'all categories'}",
        )
        for c in channels
    ]
    broken = [r.name for r in rules.rules if r.health not in ("ok", "unknown")]
    facts = (
        ("Thresholds", f"{len(thresholds)} ({sum(t.is_tuned for t in thresholds)} tuned)"),
        ("Notification channels", f"{len(enabled)} enabled of {len(channels)}"),
        (
            "Rules in Prometheus",
            f"{len(rules.rules)} loaded, {len(broken)} with errors"
            if rules.is_ok
            else f"unknown: Prometheus did not answer ({rules.reason})",
        ),
    )
    verdict = ATTENTION if not enabled or broken or not rules.is_ok else OK
    summary = f"{len(thresholds)} thresholds, {len(enabled)} enabled notification channel(s)" + (
        "; no channel is enabled: nobody is notified by the panel." if not enabled else "."
    )
    return Result(
        verdict,
        summary,
        facts,
        Table(("What", "Setting", "State"), tuple(rows)),
        {
            "thresholds": len(thresholds),
            "channels_enabled": len(enabled),
            "rules_loaded": len(rules.rules),
        },
    )
