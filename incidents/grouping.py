"""Which incident a new breach belongs to: a pure decision over plain values, like
``alerts.evaluation.judge``, so that it can be tested without a database.

The rule, in order:

1. A check already in an open incident stays there: a breach of it (warning after critical,
   critical after warning, or again after a moment of ``pending``) joins that incident.
2. A breach of an alert that an open incident already holds joins it: the series of one alert
   (the tiers of response time, the pods of CPU) are one problem, the way Alertmanager groups
   them by ``alertname`` into one notification; an open incident of the alert gathers its new
   series however long it has been open.
3. Any other breach joins the open incident with the latest breach, if that breach was at most
   ``GROUP_WINDOW`` before: one cause shows as several alerts within minutes (a latency spike
   shows as response time, then errors, then CPU), and whoever is on call works them as one.
4. Otherwise the breach opens a new incident.

Why not one open incident for every breach: an incident left open for hours (a slow disk)
would swallow an unrelated outage. Why not one incident per alert name alone: a single
spike would open three incidents, each with a third of the timeline. The window counts from
the incident's latest breach, not its opening, so a cascade that keeps spreading stays in one
incident, and an incident that has been quiet for a while does not take in a new problem.
Closed incidents never take a breach: they are records; a problem that returns opens a new
incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# Ten minutes: the playbook's cascades (latency then errors, CPU then memory) follow within a
# few evaluation intervals; two unrelated problems ten minutes apart are rare enough that
# an SRE can split them by hand (close one with a summary) when it happens.
GROUP_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class OpenIncident:
    pk: int
    check_ids: frozenset[int]
    alert_ids: frozenset[int]
    last_breach_at: datetime | None


@dataclass(frozen=True)
class Breach:
    check_id: int
    alert_id: int
    at: datetime


def place(
    breach: Breach, open_incidents: Sequence[OpenIncident], window: timedelta = GROUP_WINDOW
) -> int | None:
    """The primary key of the open incident the breach joins, or None for a new one."""
    for incident in open_incidents:
        if breach.check_id in incident.check_ids:
            return incident.pk
    same_alert = [i for i in open_incidents if breach.alert_id in i.alert_ids]
    if same_alert:
        return max(same_alert, key=_recency).pk
    recent = [
        i
        for i in open_incidents
        if i.last_breach_at is not None and breach.at - i.last_breach_at <= window
    ]
    if recent:
        return max(recent, key=_recency).pk
    return None


def _recency(incident: OpenIncident) -> tuple[float, int]:
    at = incident.last_breach_at
    return (at.timestamp() if at is not None else float("-inf"), incident.pk)
