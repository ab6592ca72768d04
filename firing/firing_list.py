"""What is firing and what is silenced: the stored webhook deliveries put beside what
Alertmanager holds now, for the firing-alerts and silences pages.

The stored rows say what fired and who acknowledged it; Alertmanager says what fires now,
with its current annotations, and whether it is silenced. When it cannot be asked, the pages
say so and show what was last delivered instead of guessing.

The list is grouped as Alertmanager's route groups notifications (``labels.ROUTE_GROUP_BY``)
and, inside a group, alerts that differ only in where they fire (``labels.INSTANCE_LABELS``)
are one card with its instances listed. A page holds whole cards, in the order the query
string asks for (``choices.ListOrder``).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce

from django.db.models import Count, F, Max, Min, Prefetch, Q, QuerySet
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from core.choices import badness_rank
from firing import labels as label_sets
from firing.choices import FiringStatus, ListOrder
from firing.models import Acknowledgement, FiringAlert
from integrations import alertmanager
from integrations.alertmanager import AlertmanagerError, HeldAlert, Silence

RESOLVED_WINDOW = timedelta(hours=24)
GROUPING_LABELS = label_sets.ROUTE_GROUP_BY
# A card lists this many of its instances; the rest are counted ("and 4,930 more"): a storm
# of one alert on every pod stays one card of a readable size.
INSTANCES_SHOWN = 20
# "Ends soon" is relative to the silence's own length: its last tenth, and never less than
# the last five minutes, so that a new one-hour silence is not flagged at once and a
# two-week one is flagged a day and a half ahead.
ENDS_SOON_SHARE = 0.1
ENDS_SOON_AT_LEAST = timedelta(minutes=5)


class SilenceStatus:
    SILENCED = "silenced"
    INHIBITED = "inhibited"
    NOT_SILENCED = "not_silenced"
    UNKNOWN = "unknown"  # Alertmanager could not be asked
    GONE = "gone"  # Alertmanager no longer holds the alert (delivered after it was asked)

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
    silences by id, when it was asked, or the error that stopped us asking."""

    alerts: dict[str, HeldAlert] = field(default_factory=dict)
    silences: dict[str, Silence] = field(default_factory=dict)
    error: AlertmanagerError | None = None
    asked_at: datetime = field(default_factory=timezone.now)

    @classmethod
    def ask(cls, *, silence_states: tuple[str, ...] = ("active", "pending")) -> AlertmanagerNow:
        asked_at = timezone.now()
        try:
            held = alertmanager.list_alerts()
            silences = alertmanager.list_silences(states=silence_states)
        except AlertmanagerError as exc:
            return cls(error=exc, asked_at=asked_at)
        return cls({a.fingerprint: a for a in held}, {s.id: s for s in silences}, None, asked_at)

    @property
    def answered(self) -> bool:
        return self.error is None

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
    """One instance of a card: a stored alert, with Alertmanager's current view of it."""

    alert: FiringAlert
    now: datetime
    silence_status: str = SilenceStatus.UNKNOWN
    silences: list[Silence] = field(default_factory=list)
    held: HeldAlert | None = None

    @property
    def annotations(self) -> dict[str, str]:
        """Alertmanager's current annotations when it holds the alert, else the last
        delivered ones: a value in a summary is the latest, not the first notification's."""
        if self.held is not None and self.held.annotations:
            return self.held.annotations
        return self.alert.annotations

    @property
    def age(self) -> timedelta:
        return self.now - self.alert.starts_at

    @property
    def silences_left(self) -> list[tuple[Silence, timedelta]]:
        return [(s, s.ends_at - self.now) for s in self.silences]

    @property
    def summary(self) -> str:
        return self.annotations.get("summary", "")

    @property
    def description(self) -> str:
        return self.annotations.get("description", "")

    @property
    def runbook_url(self) -> str:
        given = safe_link(self.annotations.get("runbook_url", ""))
        return given or f"/runbooks/{self.alert.alertname}"

    @property
    def source_url(self) -> str:
        return safe_link(self.alert.generator_url)

    @property
    def where(self) -> list[tuple[str, str]]:
        """The labels that say where this instance fires (pod, instance)."""
        return label_sets.instance_labels(self.alert.labels)

    @property
    def other_labels(self) -> list[tuple[str, str]]:
        return label_sets.shared_labels(self.alert.labels, leave_out=GROUPING_LABELS)

    @property
    def silence_word(self) -> str:
        return SilenceStatus.WORDS[self.silence_status]


@dataclass(frozen=True)
class CardCount:
    """One card of the list (alerts alike but for where they fire): its size, how many of
    its instances are acknowledged, and its newest and oldest start."""

    alertname: str
    severity: str
    tier: str
    key: str
    count: int
    acknowledged: int
    newest: datetime
    oldest: datetime

    @property
    def group(self) -> tuple[str, str, str]:
        return (self.alertname, self.severity, self.tier)


@dataclass
class FiringCard:
    """One card as a page shows it: the first ``INSTANCES_SHOWN`` instances (in the page's
    order), how many there are, and one set of actions for all of them."""

    count: CardCount
    rows: list[FiringRow] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.count.key

    @property
    def first(self) -> FiringRow:
        return self.rows[0]

    @property
    def instances(self) -> int:
        return self.count.count

    @property
    def is_collapsed(self) -> bool:
        return self.instances > 1

    @property
    def not_shown(self) -> int:
        return max(self.instances - len(self.rows), 0)

    @property
    def newest_age(self) -> timedelta:
        return self.first.now - self.count.newest

    @property
    def oldest_age(self) -> timedelta:
        return self.first.now - self.count.oldest

    @property
    def acknowledged_words(self) -> str:
        done, total = self.count.acknowledged, self.instances
        if not done:
            return ""
        return "all" if done >= total else f"{done:,} of {total:,}"

    @property
    def latest_ack(self) -> FiringRow | None:
        acked = [r for r in self.rows if r.alert.acknowledged_at is not None]
        return max(acked, key=lambda r: r.alert.acknowledged_at or r.now) if acked else None

    @property
    def silence_status(self) -> str:
        """The card's status when all its shown instances agree, else ``mixed``."""
        statuses = {r.silence_status for r in self.rows}
        return statuses.pop() if len(statuses) == 1 else "mixed"

    @property
    def silenced_words(self) -> str:
        silenced = sum(r.silence_status == SilenceStatus.SILENCED for r in self.rows)
        return f"{silenced:,} of {len(self.rows):,} shown silenced"

    @property
    def silences(self) -> list[tuple[Silence, timedelta]]:
        seen: dict[str, tuple[Silence, timedelta]] = {}
        for row in self.rows:
            for silence, left in row.silences_left:
                seen.setdefault(silence.id, (silence, left))
        return list(seen.values())


@dataclass
class FiringGroup:
    """A group as Alertmanager's route makes it (``GROUPING_LABELS``), with the cards of it
    this page shows: from its ``first_shown``-th card of ``cards``; a group of many cards
    goes on over the next pages."""

    alertname: str
    severity: str
    tier: str
    cards: list[FiringCard] = field(default_factory=list)
    total_cards: int = 0
    total_alerts: int = 0
    first_shown: int = 1

    @property
    def summary(self) -> str:
        return next((c.first.summary for c in self.cards if c.rows and c.first.summary), "")

    @property
    def last_shown(self) -> int:
        return self.first_shown + len(self.cards) - 1

    @property
    def is_partial(self) -> bool:
        return len(self.cards) < self.total_cards

    @property
    def size_words(self) -> str:
        words = f"{self.total_alerts:,} firing"
        if self.total_cards != self.total_alerts:
            # Some cards hold several instances: say how many cards the group is.
            words += f" in {self.total_cards:,} card{'s' * (self.total_cards != 1)}"
        if self.is_partial:
            words += f" \u00b7 {self.first_shown:,}\u2013{self.last_shown:,} on this page"
        return words


def firing_matching(condition: Q | None = None) -> QuerySet[FiringAlert]:
    """The firing alerts that the filters in ``condition`` keep."""
    alerts = FiringAlert.objects.filter(status=FiringStatus.FIRING)
    return alerts if condition is None else alerts.filter(condition)


def card_counts(alerts: QuerySet[FiringAlert], order: str = ListOrder.SEVERITY) -> list[CardCount]:
    """Every card of ``alerts`` with its size, in the list's ``order``: one query, grouped
    from the index (``firing_alert_cards``); their number is the list's length.

    The order is of groups first (by their newest or oldest start, as asked), then of the
    cards in each group by the same rule, so that a group stays together as Alertmanager
    notifies it. "severity" is critical first, then the newest first."""
    sized = alerts.values("severity", "alertname", "tenant_tier", "card_key").annotate(
        size=Count("pk"),
        acked=Count("pk", filter=Q(acknowledged_at__isnull=False)),
        newest=Max("starts_at"),
        oldest=Min("starts_at"),
    )
    cards = [
        CardCount(
            c["alertname"],
            c["severity"],
            c["tenant_tier"],
            c["card_key"],
            c["size"],
            c["acked"],
            c["newest"],
            c["oldest"],
        )
        for c in sized.order_by()
    ]
    return order_cards(cards, order)


def order_cards(cards: list[CardCount], order: str) -> list[CardCount]:
    """``cards`` in the list's order (see ``card_counts``); names and keys break ties, so
    that every card has one place and no card is on two pages."""
    groups: dict[tuple[str, str, str], list[CardCount]] = {}
    for card in cards:
        groups.setdefault(card.group, []).append(card)

    def when(card_or_cards: list[CardCount]) -> float:
        if order == ListOrder.OLDEST:
            return min(c.oldest for c in card_or_cards).timestamp()
        return -max(c.newest for c in card_or_cards).timestamp()

    def group_place(key: tuple[str, str, str]) -> tuple[object, ...]:
        rank = badness_rank(key[1])
        if order == ListOrder.SEVERITY:
            return (rank, when(groups[key]), key)
        return (when(groups[key]), rank, key)

    ordered: list[CardCount] = []
    for key in sorted(groups, key=group_place):
        ordered += sorted(groups[key], key=lambda c: (when([c]), c.key))
    return ordered


def _in_card(card: CardCount) -> Q:
    return Q(
        severity=card.severity,
        alertname=card.alertname,
        tenant_tier=card.tier,
        card_key=card.key,
    )


def _silence_status(
    alert: FiringAlert, now_am: AlertmanagerNow
) -> tuple[str, list[Silence], HeldAlert | None]:
    if now_am.error is not None:
        return SilenceStatus.UNKNOWN, [], None
    held = now_am.alerts.get(alert.fingerprint)
    if held is None:
        # Delivered after Alertmanager was asked (the next refresh knows), or Alertmanager
        # forgot it: still say which silences would catch it.
        return SilenceStatus.GONE, now_am.silences_matching(alert.labels), None
    if held.silenced_by:
        found = [now_am.silences[i] for i in held.silenced_by if i in now_am.silences]
        return SilenceStatus.SILENCED, found, held
    if held.inhibited_by:
        return SilenceStatus.INHIBITED, [], held
    return SilenceStatus.NOT_SILENCED, [], held


def page_groups(
    alerts: QuerySet[FiringAlert],
    cards: list[CardCount],
    *,
    offset: int,
    limit: int,
    order: str = ListOrder.SEVERITY,
    now_am: AlertmanagerNow,
    now: datetime | None = None,
) -> list[FiringGroup]:
    """The cards from ``offset`` to ``offset + limit`` of the list in their groups, each
    with its first ``INSTANCES_SHOWN`` instances: two queries (the instances with who
    acknowledged them, and their acknowledgement histories) however long the list, the
    instances numbered per card by the database so that a storm's card reads twenty rows,
    not thousands."""
    now = now or timezone.now()
    shown = cards[offset : offset + limit]
    if not shown:
        return []
    newest_first = order != ListOrder.OLDEST
    start = F("starts_at").desc() if newest_first else F("starts_at").asc()
    tie = F("pk").desc() if newest_first else F("pk").asc()
    ranked = (
        alerts.filter(reduce(operator.or_, map(_in_card, shown)))
        .annotate(
            place=Window(
                RowNumber(),
                partition_by=[F("severity"), F("alertname"), F("tenant_tier"), F("card_key")],
                order_by=[start, tie],
            )
        )
        .filter(place__lte=INSTANCES_SHOWN)
        .order_by(start, tie)
        .select_related("acknowledged_by")
        .prefetch_related(
            Prefetch("acknowledgements", queryset=Acknowledgement.objects.select_related("actor"))
        )
    )
    by_card: dict[tuple[str, str, str, str], list[FiringRow]] = {}
    for alert in ranked:
        status, silences, held = _silence_status(alert, now_am)
        key = (alert.alertname, alert.severity, alert.tenant_tier, alert.card_key)
        by_card.setdefault(key, []).append(FiringRow(alert, now, status, silences, held))

    # Where each group's first card on this page stands among its cards.
    group_sizes: dict[tuple[str, str, str], list[int]] = {}
    position: dict[tuple[tuple[str, str, str], str], int] = {}
    for card in cards:
        sizes = group_sizes.setdefault(card.group, [0, 0])
        sizes[0] += 1
        sizes[1] += card.count
        position[(card.group, card.key)] = sizes[0]

    groups: list[FiringGroup] = []
    for card in shown:
        rows = by_card.get((card.alertname, card.severity, card.tier, card.key))
        if not rows:
            continue  # resolved between the count and the page
        if not groups or (groups[-1].alertname, groups[-1].severity, groups[-1].tier) != (
            card.group
        ):
            total_cards, total_alerts = group_sizes[card.group]
            groups.append(
                FiringGroup(
                    *card.group,
                    total_cards=total_cards,
                    total_alerts=total_alerts,
                    first_shown=position[(card.group, card.key)],
                )
            )
        groups[-1].cards.append(FiringCard(card, rows))
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


def ends_soon(silence: Silence, now: datetime) -> bool:
    """In its last tenth, or its last five minutes (``ENDS_SOON_SHARE``)."""
    left = silence.ends_at - now
    return left <= max(silence.length * ENDS_SOON_SHARE, ENDS_SOON_AT_LEAST)


@dataclass
class SilenceRow:
    silence: Silence
    matched: list[HeldAlert]
    now: datetime

    @property
    def ends_in(self) -> timedelta:
        return self.silence.ends_at - self.now

    @property
    def length(self) -> timedelta:
        return self.silence.length

    @property
    def is_expiring_soon(self) -> bool:
        return self.silence.state == "active" and ends_soon(self.silence, self.now)

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
            if s.state in ("active", "pending")
            and (not state or s.state == state)
            and wanted in s.created_by.casefold()
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
