"""The stored alerts made to agree with what Alertmanager holds now, each time the firing
list asks it (the page, and every live refresh of it).

Alertmanager notifies a group only when it changes or every ``repeat_interval`` (hours), so
the webhook's rows lag behind it: an alert resolved between two notifications stays
"firing" here, and a summary keeps the value of the first notification. Alertmanager's own
list (``/api/v2/alerts``) is the truth of the moment, and it is asked anyway for the silence
status, so the rows follow it:

- an alert it no longer holds is resolved, with the time it was found gone and
  ``Resolution.ABSENT`` (it does not say when it ended); one it holds again (the same
  instance: an Alertmanager that restarted holds nothing for a while) fires again;
- the annotations of the alerts a page shows become its current ones.

Only when Alertmanager answered: when it cannot be asked nothing is changed, and the page
says the list is what was last delivered. These are not a person's writes (no actor, no
audit row): they keep a copy true to its source, like the webhook, and are idempotent, so
any number of web processes refreshing at once resolve each alert once (the update is
conditional on the row still firing).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from firing.choices import FiringStatus, Resolution
from firing.firing_list import AlertmanagerNow, FiringRow
from firing.models import FiringAlert

logger = logging.getLogger(__name__)

# Primary keys per UPDATE: well under SQLite's bound on parameters.
BATCH = 500


def resolve_absent(now_am: AlertmanagerNow, *, now: datetime) -> int:
    """Resolve every firing alert Alertmanager did not hold when asked; returns how many.

    A row delivered after Alertmanager was asked is left alone: Alertmanager held it to
    deliver it, after the list we have was made (the webhook and this page race)."""
    if not now_am.answered:
        return 0
    stored = FiringAlert.objects.filter(
        status=FiringStatus.FIRING, last_received_at__lt=now_am.asked_at
    ).values_list("pk", "fingerprint")
    gone = [pk for pk, fingerprint in stored if fingerprint not in now_am.alerts]
    resolved = 0
    for start in range(0, len(gone), BATCH):
        resolved += FiringAlert.objects.filter(
            pk__in=gone[start : start + BATCH],
            status=FiringStatus.FIRING,
            last_received_at__lt=now_am.asked_at,
        ).update(status=FiringStatus.RESOLVED, ends_at=now, resolution=Resolution.ABSENT)
    if resolved:
        logger.info("%d firing alerts resolved: Alertmanager no longer holds them", resolved)
    reopen_returned(now_am)
    return resolved


def reopen_returned(now_am: AlertmanagerNow) -> int:
    """Fire again the alerts resolved as absent that Alertmanager holds again, the same
    instance (fingerprint and start): an Alertmanager that restarted holds nothing until
    Prometheus sends its alerts again (within a minute), and its notification log, which
    survives the restart, may keep the webhook quiet for hours. Returns how many."""
    if not now_am.answered or not now_am.alerts:
        return 0
    absent = FiringAlert.objects.filter(
        status=FiringStatus.RESOLVED,
        resolution=Resolution.ABSENT,
        fingerprint__in=list(now_am.alerts),
    ).values_list("pk", "fingerprint", "starts_at")
    back = [
        pk
        for pk, fingerprint, starts_at in absent
        if now_am.alerts[fingerprint].starts_at in (None, starts_at)
    ]
    reopened = 0
    for start in range(0, len(back), BATCH):
        reopened += FiringAlert.objects.filter(
            pk__in=back[start : start + BATCH],
            status=FiringStatus.RESOLVED,
            resolution=Resolution.ABSENT,
        ).update(status=FiringStatus.FIRING, ends_at=None, resolution=Resolution.NONE)
    if reopened:
        logger.info("%d alerts fire again: Alertmanager holds them again", reopened)
    return reopened


def refresh_annotations(rows: Iterable[FiringRow]) -> int:
    """Store Alertmanager's current annotations of the ``rows`` a page shows where they
    changed (what the resolved list shows later is then the last value, not the first);
    returns how many rows changed."""
    changed = []
    for row in rows:
        if (
            row.held is not None
            and row.held.annotations
            and (row.held.annotations != row.alert.annotations)
        ):
            row.alert.annotations = row.held.annotations
            changed.append(row.alert)
    if changed:
        FiringAlert.objects.bulk_update(changed, ["annotations"], batch_size=BATCH)
    return len(changed)
