"""The alert noise report: for every alert over 7 and 30 days, how often it fired and for how
long (Alertmanager's deliveries), how often the panel's checks flapped back to ok, how many
firings someone acknowledged, how long silences covered it, and when it was last tuned and by
whom. The noisiest first: that is where the playbook's tuning process starts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from alerts.choices import TuningKind
from alerts.models import Alert, StateChange, TuningNote
from core.choices import State
from firing.models import FiringAlert
from integrations.alertmanager import Silence

WINDOWS = (("7 days", 7), ("30 days", 30))


@dataclass
class Window:
    fired: int = 0
    firing_seconds: float = 0.0
    flaps: int = 0
    acknowledged: int = 0
    silenced_seconds: float | None = 0.0  # None: Alertmanager did not answer

    @property
    def acknowledged_share(self) -> float | None:
        return self.acknowledged / self.fired if self.fired else None


@dataclass
class NoiseRow:
    alert: Alert
    windows: dict[str, Window] = field(default_factory=dict)
    last_tuned: TuningNote | None = None

    @property
    def noise(self) -> tuple[int, float, int]:
        month = self.windows["30 days"]
        return (month.fired, month.firing_seconds, month.flaps)


def _overlap(start: datetime, end: datetime, since: datetime, now: datetime) -> float:
    return max((min(end, now) - max(start, since)).total_seconds(), 0.0)


def _silences_alert(silence: Silence, name: str) -> bool:
    """A silence counts for an alert when its alertname matcher takes the alert's name (its
    other matchers narrow it to some series: time silenced is an upper bound then)."""
    return any(m.name == "alertname" and m.matches({"alertname": name}) for m in silence.matchers)


def build_report(now: datetime, silences: list[Silence] | None) -> list[NoiseRow]:
    """``silences``: Alertmanager's silences (active and expired ones it still keeps), or None
    when it could not be asked; time silenced then reads "unknown"."""
    longest = now - timedelta(days=WINDOWS[-1][1])
    alerts = list(Alert.objects.all())
    rows = {a.name: NoiseRow(a) for a in alerts}
    # By alert name, so that the work grows with the firings, not firings times alerts (an
    # alert storm is thousands of rows in the window).
    firings: dict[str, list[Any]] = defaultdict(list)
    for found in (
        FiringAlert.objects.filter(Q(ends_at__isnull=True) | Q(ends_at__gte=longest))
        .filter(starts_at__lte=now, alertname__in=list(rows))
        .values("alertname", "starts_at", "ends_at", "acknowledged_at")
        .iterator()
    ):
        firings[found["alertname"]].append(found)
    returns: dict[str, list[datetime]] = defaultdict(list)
    for change in StateChange.objects.filter(
        at__gte=longest, to_state=State.OK, from_state__in=State.BREACHED
    ).values("at", "check_obj__threshold__alert__name"):
        returns[change["check_obj__threshold__alert__name"]].append(change["at"])
    for row in rows.values():
        for label, days in WINDOWS:
            since = now - timedelta(days=days)
            window = Window()
            for firing in firings[row.alert.name]:
                end = firing["ends_at"] or now
                if end < since:
                    continue
                if firing["starts_at"] >= since:
                    window.fired += 1
                    window.acknowledged += firing["acknowledged_at"] is not None
                window.firing_seconds += _overlap(firing["starts_at"], end, since, now)
            window.flaps = sum(1 for at in returns[row.alert.name] if at >= since)
            if silences is None:
                window.silenced_seconds = None
            else:
                window.silenced_seconds = sum(
                    _overlap(s.starts_at, s.ends_at, since, now)
                    for s in silences
                    if _silences_alert(s, row.alert.name)
                )
            row.windows[label] = window
    tuned = TuningNote.objects.exclude(kind=TuningKind.NOTE).select_related("author", "alert")
    for note in tuned.order_by("at"):
        if note.alert.name in rows:
            rows[note.alert.name].last_tuned = note
    return sorted(rows.values(), key=lambda r: r.noise, reverse=True)


def select_rows(rows: list[NoiseRow], *, alert: str = "", sort: str = "noise") -> list[NoiseRow]:
    """The report's rows whose alert name contains ``alert``, in the order ``sort`` names:
    ``noise`` (as ``build_report`` gives them), ``flaps`` (most flaps in 30 days first) or
    ``name``."""
    wanted = alert.casefold()
    kept = [r for r in rows if wanted in r.alert.name.casefold()]
    if sort == "flaps":
        return sorted(kept, key=lambda r: (-r.windows["30 days"].flaps, r.alert.name))
    if sort == "name":
        return sorted(kept, key=lambda r: r.alert.name)
    return kept
