"""What is firing and what is silenced: the stored webhook deliveries put beside what
Alertmanager holds now, for the firing-alerts and silences pages.

The stored rows say what fired and who acknowledged it; only Alertmanager knows whether an
alert is silenced right now. When it cannot be asked, the pages say so instead of guessing.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from core.choices import WORST_FIRST
from firing.choices import FiringStatus
from firing.models import Acknowledgement, FiringAlert
from integrations import alertmanager
from integrations.alertmanager import AlertmanagerError, HeldAlert, Silence

RESOLVED_WINDOW = timedelta(hours=24)
EXPIRES_SOON = timedelta(hours=1)
GROUPING_LABELS = ("alertname", "severity", "tenant_tier")

# core.choices.badness_rank in SQL: the page is cut by the database, so the database sorts.
_SEVERITY_RANK = Case(
    *(When(severity=name, then=Value(rank)) for rank, name in enumerate(WORST_FIRST)),
    default=Value(len(WORST_FIRST)),
    output_field=IntegerField(),
)


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
    """A group as one page shows it: ``rows`` are the group's alerts on this page, from its
    ``first_shown``-th of ``total``; a big group goes on over the next pages."""

    alertname: str
    severity: str
    tier: str
    rows: list[FiringRow] = field(default_factory=list)
    total: int = 0
    first_shown: int = 1

    @property
    def summary(self) -> str:
        return next((r.summary for r in self.rows if r.summary), "")

    @property
    def last_shown(self) -> int:
        return self.first_shown + len(self.rows) - 1

    @property
    def is_partial(self) -> bool:
        return len(self.rows) < self.total

    @property
    def size_words(self) -> str:
        words = f"{self.total:,} firing"
        if self.is_partial:
            words += f" \u00b7 {self.first_shown:,}\u2013{self.last_shown:,} on this page"
        return words


@dataclass(frozen=True)
class GroupCount:
    """How many alerts a group holds, and how many of the list come before it."""

    alertname: str
    severity: str
    tier: str
    count: int
    before: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.alertname, self.severity, self.tier)


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


def firing_matching(condition: Q | None = None) -> QuerySet[FiringAlert]:
    """The firing alerts that the filters in ``condition`` keep."""
    alerts = FiringAlert.objects.filter(status=FiringStatus.FIRING)
    return alerts if condition is None else alerts.filter(condition)


def group_counts(alerts: QuerySet[FiringAlert]) -> list[GroupCount]:
    """Every group of ``alerts`` (alert name, severity and tier, as Alertmanager routes them)
    with its size, critical first, then by name and tier: one query, counted from the index,
    which also gives the list's length (their sum) and where each group starts on it."""
    sized = (
        alerts.values("severity", "alertname", "tenant_tier")
        .annotate(size=Count("pk"), severity_rank=_SEVERITY_RANK)
        .order_by("severity_rank", "alertname", "tenant_tier")
    )
    counts, before = [], 0
    for group in sized:
        counts.append(
            GroupCount(
                group["alertname"], group["severity"], group["tenant_tier"], group["size"], before
            )
        )
        before += group["size"]
    return counts


def _in_group(count: GroupCount) -> Q:
    return Q(severity=count.severity, alertname=count.alertname, tenant_tier=count.tier)


def page_groups(
    alerts: QuerySet[FiringAlert],
    counts: list[GroupCount],
    *,
    offset: int,
    limit: int,
    now_am: AlertmanagerNow,
    now: datetime | None = None,
) -> list[FiringGroup]:
    """The alerts from ``offset`` to ``offset + limit`` of the list in their groups, the
    longest firing first within a group, each group with its size and where on the page it
    starts: three queries (the alerts with who acknowledged them, and their acknowledgement
    histories) however long the list.

    ``counts`` (``group_counts``) say which groups the page crosses and how far into the
    first one it starts, so the database only orders those groups' keys, from the index: a
    page deep inside a storm of one alert is an index range, not a sort of every row."""
    now = now or timezone.now()
    end = offset + limit
    crossed = [c for c in counts if c.before < end and c.before + c.count > offset]
    if not crossed:
        return []
    # The pk breaks ties of the start, so that no alert is on two pages, or on none.
    if len(crossed) == 1:
        order: tuple[Any, ...] = ("starts_at", "pk")
    else:
        place = Case(
            *(When(_in_group(c), then=Value(i)) for i, c in enumerate(crossed)),
            output_field=IntegerField(),
        )
        order = (place, "starts_at", "pk")
    skipped = offset - crossed[0].before  # of the first group, shown on earlier pages
    keys = (
        alerts.filter(reduce(operator.or_, map(_in_group, crossed)))
        .order_by(*order)
        .values("pk")[skipped : skipped + limit]
    )
    # Only the page's rows are read whole: an OFFSET sorted over whole rows would carry
    # every earlier row's labels through the sort.
    rows = (
        FiringAlert.objects.filter(pk__in=keys)
        .order_by(*order)
        .select_related("acknowledged_by")
        .prefetch_related(
            Prefetch("acknowledgements", queryset=Acknowledgement.objects.select_related("actor"))
        )
    )
    shown = {c.key: (c, max(offset - c.before, 0)) for c in crossed}
    groups: list[FiringGroup] = []
    for alert in rows:
        key = (alert.alertname, alert.severity, alert.tenant_tier)
        if not groups or (groups[-1].alertname, groups[-1].severity, groups[-1].tier) != key:
            # A row whose labels changed between the two queries keeps its new group.
            count, before_page = shown.get(key, (GroupCount(*key, count=0, before=0), 0))
            groups.append(FiringGroup(*key, total=count.count, first_shown=before_page + 1))
        status, silences = _silence_status(alert, now_am)
        groups[-1].rows.append(FiringRow(alert, now, status, silences))
    for group in groups:
        # An alert that came in between the count and the page is still counted.
        group.total = max(group.total, group.last_shown)
    return groups


def resolved_matching(
    condition: Q | None = None, now: datetime | None = None
) -> QuerySet[FiringAlert]:
    """Alerts resolved within ``RESOLVED_WINDOW``, the latest first."""
    since = (now or timezone.now()) - RESOLVED_WINDOW
    alerts = FiringAlert.objects.filter(status=FiringStatus.RESOLVED, ends_at__gte=since)
    if condition is not None:
        alerts = alerts.filter(condition)
    return alerts.select_related("acknowledged_by").order_by("-ends_at", "-pk")


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


def listed_silences(
    now_am: AlertmanagerNow, *, state: str = "", created_by: str = ""
) -> list[Silence]:
    """Active and pending silences (or those in ``state``), the soonest to end first; with
    ``created_by``, those whose author's name contains it."""
    wanted = created_by.casefold()
    return sorted(
        (
            s
            for s in now_am.silences.values()
            if (not state or s.state == state) and wanted in s.created_by.casefold()
        ),
        key=lambda s: (s.ends_at, s.id),
    )


def silence_rows(
    silences: list[Silence], now_am: AlertmanagerNow, now: datetime | None = None
) -> list[SilenceRow]:
    """The ``silences`` of one page, each with the alerts it mutes now (by Alertmanager's
    word, or matched here for a silence that has not started): the matching costs a page's
    silences times the alerts held, not every silence's."""
    now = now or timezone.now()
    held = list(now_am.alerts.values())
    return [
        SilenceRow(
            silence,
            [a for a in held if silence.id in a.silenced_by or silence.matches(a.labels)],
            now,
        )
        for silence in silences
    ]
