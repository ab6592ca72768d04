"""Writes of the Alertmanager loop that matter, each with who did it and an audit row:
acknowledgements (kept as a history) and silences created, extended, edited or expired in
Alertmanager."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from firing.choices import SilenceAction
from firing.models import Acknowledgement, FiringAlert, SilenceAudit
from integrations import alertmanager
from integrations.alertmanager import Matcher, Silence

logger = logging.getLogger(__name__)


@transaction.atomic
def acknowledge_alert(alert: FiringAlert, *, actor: User, comment: str) -> FiringAlert:
    """Someone is on it: who, when and what they said. A second acknowledgement (a hand-over
    at the end of a shift) adds to the history and becomes the alert's current one;
    Alertmanager's deliveries never touch either, and an alert that fires again with a new
    start is a new row."""
    ack = Acknowledgement.objects.create(alert=alert, actor=actor, comment=comment)
    FiringAlert.objects.filter(pk=alert.pk).update(
        acknowledged_by=actor, acknowledged_at=ack.at, ack_comment=comment
    )
    alert.refresh_from_db()
    return alert


@transaction.atomic
def acknowledge_alerts(alerts: QuerySet[FiringAlert], *, actor: User, comment: str) -> int:
    """Acknowledge every alert of a card (one problem on many pods) at once: an
    acknowledgement row for each, as if each had been acknowledged by hand, in one
    transaction; returns how many."""
    now = timezone.now()
    pks = list(alerts.values_list("pk", flat=True))
    Acknowledgement.objects.bulk_create(
        [Acknowledgement(alert_id=pk, actor=actor, comment=comment, at=now) for pk in pks],
        batch_size=500,
    )
    for start in range(0, len(pks), 500):
        FiringAlert.objects.filter(pk__in=pks[start : start + 500]).update(
            acknowledged_by=actor, acknowledged_at=now, ack_comment=comment
        )
    return len(pks)


def create_silence(
    matchers: list[Matcher],
    *,
    actor: User,
    starts_at: datetime,
    ends_at: datetime,
    comment: str,
    alert: FiringAlert | None = None,
) -> str:
    """Create a silence in Alertmanager in the actor's name and record it. Raises
    ``AlertmanagerError`` when Alertmanager refuses or cannot be reached; nothing is recorded
    then. The audit row is written after Alertmanager answered, so a silence that exists is
    never missing from it because the database was slow."""
    silence_id = alertmanager.create_silence(
        matchers,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor.get_username(),
        comment=comment,
    )
    SilenceAudit.objects.create(
        silence_id=silence_id,
        action=SilenceAction.CREATED,
        actor=actor,
        alert=alert,
        matchers=[str(m) for m in matchers],
        comment=comment,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    logger.info("silence %s created by %s", silence_id, actor.get_username())
    return silence_id


class SilenceEnded(Exception):
    """The silence to change has ended (or was replaced): Alertmanager would create a new
    one instead of changing it, a second copy of whatever replaced it."""


def change_silence(
    silence: Silence,
    matchers: list[Matcher],
    *,
    actor: User,
    ends_at: datetime,
    comment: str,
    action: str = SilenceAction.EDITED,
) -> str:
    """Change a silence's matchers, end or comment in Alertmanager in the actor's name and
    record it; returns the id of the silence that now holds it. Alertmanager keeps the id
    when it can update in place, and otherwise expires the old silence and creates a new one
    (``alertmanager.update_silence``): the audit row then carries the old id as
    ``previous_id``, which the history follows. The start is kept (an active silence that
    keeps its start can be updated in place). The silence is read again first, so that an
    ended one is refused (``SilenceEnded``) rather than copied. Raises
    ``AlertmanagerError``."""
    current = alertmanager.get_silence(silence.id)
    if current.state == "expired":
        raise SilenceEnded(silence.id)
    new_id = alertmanager.update_silence(
        current.id,
        matchers,
        starts_at=current.starts_at,
        ends_at=ends_at,
        created_by=current.created_by,
        comment=comment,
    )
    SilenceAudit.objects.create(
        silence_id=new_id,
        previous_id="" if new_id == current.id else current.id,
        action=action,
        actor=actor,
        matchers=[str(m) for m in matchers],
        comment=comment,
        starts_at=current.starts_at,
        ends_at=ends_at,
    )
    logger.info(
        "silence %s %s by %s%s",
        current.id,
        action,
        actor.get_username(),
        "" if new_id == current.id else f", replaced by {new_id}",
    )
    return new_id


def extend_silence(silence: Silence, *, actor: User, by: timedelta, limit: timedelta) -> str:
    """End a silence ``by`` later (from its end, or from now if it ends sooner), no later
    than ``limit`` from now; returns the id that holds it (see ``change_silence``). Raises
    ``ValueError`` past the limit, ``SilenceEnded`` or ``AlertmanagerError``."""
    now = timezone.now()
    ends_at = max(silence.ends_at, now) + by
    if ends_at - now > limit:
        raise ValueError(f"it would end more than {limit.days} days from now")
    return change_silence(
        silence,
        list(silence.matchers),
        actor=actor,
        ends_at=ends_at,
        comment=silence.comment,
        action=SilenceAction.EXTENDED,
    )


def expire_silence(silence_id: str, *, actor: User, reason: str = "") -> None:
    """End a silence now in Alertmanager and record who did and why. Raises
    ``AlertmanagerError``."""
    alertmanager.expire_silence(silence_id)
    SilenceAudit.objects.create(
        silence_id=silence_id, action=SilenceAction.EXPIRED, actor=actor, comment=reason
    )
    logger.info("silence %s expired by %s", silence_id, actor.get_username())
