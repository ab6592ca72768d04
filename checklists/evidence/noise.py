"""Evidence of alert accuracy: the noise report's week, with Alertmanager's silences."""

from __future__ import annotations

import logging
from datetime import datetime

from checklists.evidence.result import ATTENTION, OK, Result, Table, when
from core import formatting
from firing import noise
from integrations import alertmanager

log = logging.getLogger(__name__)


def alert_accuracy(now: datetime) -> Result:
    """The noise report's last 7 days: the alerts that fired, flapped or were left alone."""
    try:
        silences: list | None = alertmanager.list_silences(states=("active", "pending", "expired"))
    except alertmanager.AlertmanagerError as exc:
        log.info("no silences for the noise evidence: %s", exc)
        silences = None
    rows = []
    for row in noise.build_report(now, silences):
        week = row.windows["7 days"]
        if not (week.fired or week.flaps):
            continue
        share = week.acknowledged_share
        rows.append(
            (
                row.alert.name,
                str(week.fired),
                formatting.age(week.firing_seconds),
                str(week.flaps),
                formatting.MISSING if share is None else formatting.share(share, digits=0),
                when(row.last_tuned.at) if row.last_tuned else "never",
            )
        )
    noisy = [r for r in rows if int(r[1]) >= 10 or int(r[3]) >= 3]
    summary = (
        "No alert fired or flapped in the last 7 days."
        if not rows
        else f"{len(rows)} alert(s) fired or flapped in the last 7 days; {len(noisy)} noisy "
        "(10+ firings or 3+ flaps): candidates for tuning."
    )
    return Result(
        ATTENTION if noisy else OK,
        summary,
        (("Silences", "unknown (Alertmanager did not answer)" if silences is None else "counted"),),
        Table(("Alert", "Fired", "Firing", "Flaps", "Acked", "Last tuned"), tuple(rows)),
        {"alerts_fired": len(rows), "noisy": len(noisy)},
    )
