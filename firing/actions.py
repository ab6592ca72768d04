"""Writes of the Alertmanager loop that matter, each with who did it and an audit row:
acknowledgements (kept as a history) and silences created or expired in Alertmanager."""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from firing.choices import SilenceAction
from firing.models import Acknowledgement, FiringAlert, SilenceAudit
from integrations import alertmanager
from integrations.alertmanager import Matcher

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


def expire_silence(silence_id: str, *, actor: User) -> None:
    """End a silence now in Alertmanager and record who did. Raises ``AlertmanagerError``."""
    alertmanager.expire_silence(silence_id)
    SilenceAudit.objects.create(silence_id=silence_id, action=SilenceAction.EXPIRED, actor=actor)
    logger.info("silence %s expired by %s", silence_id, actor.get_username())
