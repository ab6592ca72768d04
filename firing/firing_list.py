"""What is firing and what is silenced: the stored webhook deliveries put beside what
Alertmanager holds now, for the firing-alerts and silences pages.

The stored rows say what fired and who acknowledged it; only Alertmanager knows whether an
alert is silenced right now. When it cannot be asked, the pages say so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Prefetch
from django.utils import timezone

from core.choices import badness_rank
from firing.choices import FiringStatus
from firing.models import Acknowledgement, FiringAlert
from integrations import alertmanager
from integrations.alertmanager import AlertmanagerError, HeldAlert, Silence

RESOLVED_WINDOW = timedelta(hours=24)
RESOLVED_LIMIT = 50
EXPIRES_SOON = timedelta(hours=1)
GROUPING_LABELS = ("alertname", "severity", "tenant_tier")


class SilenceStatus:
    SILENCED = "silenced"
    INHIBITED = "inhibited"
    NOT_SILENCED = "not_silenced"
    UNKNOWN = "unknown"  # Alertmanager could not be asked
    GONE = "gone"  # Alertmanager no longer holds the alert

    WORDS = {
        SILENCED: "Silenced",
        INHIBITED: "Inhibited",
        NOT_SILENCED: "Not silenced",
        UNKNOWN: "Silence status unknown",
        GONE: "Not in Alertmanager",
    }


@dataclass
class AlertmanagerNow:
    """One look at Alertmanager: the alerts it holds by fingerprint, the active and pending
    silences by id, or the error that stopped us asking."""

    alerts: dict[str, HeldAlert] = field(default_factory=dict)
    silences: dict[str, Silence] = field(default_factory=dict)
    error: AlertmanagerError | None = None

    @classmethod
    def ask(cls) -> AlertmanagerNow:
        try:
            held = alertmanager.list_alerts()
            silences = alertmanager.list_silences()
        except AlertmanagerError as exc:
            return cls(error=exc)
        return cls({a.fingerprint: a for a in held}, {s.id: s for s in silences})

    def silences_matching(self, labels: dict[str, str]) -> list[Silence]:
        return [s for s in self.silences.values() if s.state == "active" and s.matches(labels)]


def safe_link(url: str) -> str:
    """Links come from alert annotations: only web addresses and paths on this site, so that
    no ``javascript:`` ends up in an href."""
    if url.startswith(("https://", "http://")) or (url.startswith("/") and "//" not in url[:2]):
        return url
    return ""


@dataclass
class FiringRow:
    alert: FiringAlert
    now: datetime
    silence_status: str = SilenceStatus.UNKNOWN
    silences: list[Silence] = field(default_factory=list)

    @property
    def age(self) -> timedelta:
        return self.now - self.alert.starts_at

    @property
    def since_last_delivery(self) -> timedelta:
        return self.now - self.alert.last_received_at

    @property
    def since_acknowledged(self) -> timedelta | None:
        at = self.alert.acknowledged_at
        return None if at is None else self.now - at

    @property
    def silences_left(self) -> list[tuple[Silence, timedelta]]:
        return [(s, s.ends_at - self.now) for s in self.silences]

    @property
    def summary(self) -> str:
        return self.alert.annotations.get("summary", "")

    @property
    def description(self) -> str:
        return self.alert.annotations.get("description", "")

    @property
    def runbook_url(self) -> str:
        given = safe_link(self.alert.annotations.get("runbook_url", ""))
        return given or f"/runbooks/{self.alert.alertname}"

    @property
    def source_url(self) -> str:
        return safe_link(self.alert.generator_url)

    @property
    def other_labels(self) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in self.alert.labels.items() if k not in GROUPING_LABELS)

    @property
    def silence_word(self) -> str:
        return SilenceStatus.WORDS[self.silence_status]


@dataclass
class FiringGroup:
    alertname: str
    severity: str
    tier: str
    rows: list[FiringRow] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return next((r.summary for r in self.rows if r.summary), "")


def _silence_status(alert: FiringAlert, now_am: AlertmanagerNow) -> tuple[str, list[Silence]]:
    if now_am.error is not None:
        return SilenceStatus.UNKNOWN, []
    held = now_am.alerts.get(alert.fingerprint)
    if held is None:
        # Resolved without the resolution reaching us, or Alertmanager restarted: still say
        # which silences would catch it if it comes back.
        return SilenceStatus.GONE, now_am.silences_matching(alert.labels)
    if held.silenced_by:
        found = [now_am.silences[i] for i in held.silenced_by if i in now_am.silences]
        return SilenceStatus.SILENCED, found
    if held.inhibited_by:
        return SilenceStatus.INHIBITED, []
    return SilenceStatus.NOT_SILENCED, []


def firing_groups(
    alerts: list[FiringAlert], now_am: AlertmanagerNow, now: datetime | None = None
) -> list[FiringGroup]:
    """Firing alerts grouped by alert name, severity and tier (as Alertmanager routes them),
    critical first; the longest firing first within a group."""
    now = now or timezone.now()
    groups: dict[tuple[str, str, str], FiringGroup] = {}
    for alert in sorted(alerts, key=lambda a: a.starts_at):
        tier = alert.labels.get("tenant_tier", "")
        key = (alert.alertname, alert.severity, tier)
        group = groups.setdefault(key, FiringGroup(*key))
        status, silences = _silence_status(alert, now_am)
        group.rows.append(FiringRow(alert, now, status, silences))
    return sorted(
        groups.values(),
        key=lambda g: (badness_rank(g.severity), g.alertname, g.tier),
    )


def current_firing() -> list[FiringAlert]:
    return list(
        FiringAlert.objects.filter(status=FiringStatus.FIRING)
        .select_related("acknowledged_by")
        .prefetch_related(
            Prefetch(
                "acknowledgements",
                queryset=Acknowledgement.objects.select_related("actor"),
            )
        )
    )


def recently_resolved(now: datetime | None = None) -> list[FiringAlert]:
    since = (now or timezone.now()) - RESOLVED_WINDOW
    return list(
        FiringAlert.objects.filter(status=FiringStatus.RESOLVED, ends_at__gte=since)
        .select_related("acknowledged_by")
        .order_by("-ends_at")[:RESOLVED_LIMIT]
    )


@dataclass
class SilenceRow:
    silence: Silence
    matched: list[HeldAlert]
    now: datetime

    @property
    def ends_in(self) -> timedelta:
        return self.silence.ends_at - self.now

    @property
    def is_expiring_soon(self) -> bool:
        return self.ends_in <= EXPIRES_SOON

    @property
    def matches_nothing(self) -> bool:
        return not self.matched

    @property
    def matched_names(self) -> list[str]:
        return sorted({a.labels.get("alertname", "?") for a in self.matched})


def silence_rows(now_am: AlertmanagerNow, now: datetime | None = None) -> list[SilenceRow]:
    """Active and pending silences, the soonest to end first, each with the alerts it mutes
    now (by Alertmanager's word, or matched here for a silence that has not started)."""
    now = now or timezone.now()
    held = list(now_am.alerts.values())
    return [
        SilenceRow(
            silence,
            [a for a in held if silence.id in a.silenced_by or silence.matches(a.labels)],
            now,
        )
        for silence in sorted(now_am.silences.values(), key=lambda s: s.ends_at)
    ]
