"""The alert-tuning process as writes: every threshold change, restore and note is a
``TuningNote`` added in the same transaction as the change, and a change queues the rule file's
rewrite and Prometheus's reload once it has committed.

Checks are left as they are: an edit is not a recovery (docs/architecture.md, trust rule 8).
The next evaluation judges them against the new levels and records any change of state with
its reason."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from alerts.choices import TuningKind
from alerts.models import Alert, Threshold, TuningNote
from alerts.tasks import publish_rules
from core.permissions import AnyUser


def _publish_rules() -> None:
    publish_rules.delay()


def _author(user: AnyUser) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


@transaction.atomic
def save_threshold(
    threshold: Threshold, *, actor: AnyUser, note: str, is_new: bool = False
) -> TuningNote:
    """Save a new or changed threshold with its tuning note (before → after)."""
    before: dict[str, Any] = {}
    if not is_new:
        stored = Threshold.objects.select_for_update().get(pk=threshold.pk)
        before = stored.current_values()
    threshold.save()
    record = TuningNote.objects.create(
        alert=threshold.alert,
        threshold=threshold,
        threshold_key=threshold.key,
        kind=TuningKind.CREATED if is_new else TuningKind.CHANGED,
        before=before,
        after=threshold.current_values(),
        note=note,
        author=_author(actor),
    )
    transaction.on_commit(_publish_rules, robust=True)
    return record


ALERT_FIELDS = ("summary", "severities", "service")


@transaction.atomic
def save_alert(alert: Alert, *, actor: AnyUser, note: str, is_new: bool = False) -> TuningNote:
    """Save a new or changed alert with its tuning note: its severities, summary and service
    are part of the exported rules too."""
    before: dict[str, Any] = {}
    if not is_new:
        stored = Alert.objects.select_for_update().get(pk=alert.pk)
        before = {name: getattr(stored, name) for name in ALERT_FIELDS}
    alert.save()
    record = TuningNote.objects.create(
        alert=alert,
        kind=TuningKind.CREATED if is_new else TuningKind.CHANGED,
        before=before,
        after={name: getattr(alert, name) for name in ALERT_FIELDS},
        note=note,
        author=_author(actor),
    )
    transaction.on_commit(_publish_rules, robust=True)
    return record


@transaction.atomic
def restore_version(
    record: TuningNote, *, actor: AnyUser, note: str, which: str = "after"
) -> TuningNote:
    """Put back the values a threshold had after ``record`` (or before it, which reaches the
    playbook's values from the first change): a change of its own, noted."""
    if record.threshold is None:
        raise ValueError("This note belongs to no threshold.")
    values = record.before if which == "before" else record.after
    if not values:
        raise ValueError("This note recorded no values to restore.")
    threshold = Threshold.objects.select_for_update().get(pk=record.threshold.pk)
    before = threshold.current_values()
    for name in Threshold.TUNABLE:
        if name in values:
            setattr(threshold, name, values[name])
    threshold.save()
    restored = TuningNote.objects.create(
        alert=threshold.alert,
        threshold=threshold,
        threshold_key=threshold.key,
        kind=TuningKind.RESTORED,
        before=before,
        after=threshold.current_values(),
        note=note,
        author=_author(actor),
    )
    transaction.on_commit(_publish_rules, robust=True)
    return restored


def add_note(
    alert: Alert, *, actor: AnyUser, note: str, threshold: Threshold | None = None
) -> TuningNote:
    """A tuning note that changes nothing: the playbook's "validate business impact"."""
    return TuningNote.objects.create(
        alert=alert,
        threshold=threshold,
        threshold_key=threshold.key if threshold else "",
        kind=TuningKind.NOTE,
        note=note,
        author=_author(actor),
    )
