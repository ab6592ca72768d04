"""Maintenance checklists: templates per cadence, the runs opened from them every period, and
the people who checked, signed off and reviewed them.

A signed-off run is a record, not a document: it and its items refuse every change, through
``save()``, ``delete()`` and querysets' ``update()`` / ``delete()`` alike. A correction is a
``RunNote`` added beside it. Only the review of a signed-off monthly or quarterly run may still
be written, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from checklists.choices import Cadence, EventKind, Evidence, ItemRole, ItemStatus, RunStatus

# The only fields of a signed-off run that may still change, and only from awaiting review.
REVIEW_FIELDS = frozenset({"status", "reviewed_by", "reviewed_by_id", "reviewed_at"})


class RunLocked(Exception):
    """A write to a signed-off run or its items. A correction is an added note."""


class ChecklistTemplate(models.Model):
    """The items owed every period of one cadence, read from the playbook and editable in the
    admin. Runs copy the items when they open, so an edit never reaches a past run."""

    cadence = models.CharField(max_length=10, choices=Cadence.choices, unique=True)
    title = models.CharField(max_length=200)
    due_after = models.DurationField(
        help_text="How long after the start (local midnight) of the period's first day a run "
        "is due, e.g. 17:00:00 for a daily run due at 5 pm."
    )
    is_edited_in_admin = models.BooleanField(
        default=False,
        help_text="Set when an administrator changes the items: reloading the playbook then "
        "leaves this checklist as edited.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class TemplateItem(models.Model):
    """One task of a template, in its position."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    evidence = models.CharField(max_length=30, choices=Evidence.choices, default=Evidence.NONE)
    role = models.CharField(max_length=10, choices=ItemRole.choices, default=ItemRole.SRE)
    guidance = models.TextField(blank=True)

    class Meta:
        ordering = ["template", "position", "id"]

    def __str__(self) -> str:
        return self.title


class RotaMember(models.Model):
    """The on-call rota: the owners of new runs take turns in ``position`` order, per cadence
    (or for every cadence when none is given)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    cadence = models.CharField(
        max_length=10, choices=Cadence.choices, blank=True, help_text="Empty: every cadence."
    )
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["cadence", "position", "id"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_cadence_display() or 'all cadences'})"


class RunQuerySet(models.QuerySet["ChecklistRun"]):
    def signed(self) -> RunQuerySet:
        return self.filter(signed_off_at__isnull=False)

    def overdue(self, now: datetime | None = None) -> RunQuerySet:
        return self.filter(status=RunStatus.OPEN, due_at__lt=now or timezone.now())

    def update(self, **kwargs: Any) -> int:
        # Reviews are the one write a signed-off run takes, and only while awaiting one.
        locked = self.signed()
        if locked.exists():
            is_review = set(kwargs) <= REVIEW_FIELDS and not (
                locked.exclude(status=RunStatus.AWAITING_REVIEW).exists()
            )
            if not is_review:
                raise RunLocked("a signed-off checklist run cannot be changed; add a note instead")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.signed().exists():
            raise RunLocked("a signed-off checklist run cannot be deleted")
        return super().delete()


class ChecklistRun(models.Model):
    """One period's checklist: its items (copied from the template), owner, due time, the
    evidence the panel gathered, who signed it off and, for monthly and quarterly runs, who
    reviewed it. Exactly one per cadence and period start."""

    cadence = models.CharField(max_length=10, choices=Cadence.choices)
    period_start = models.DateField()
    period_end = models.DateField(help_text="The last day of the period.")
    title = models.CharField(max_length=200)
    opened_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.OPEN)
    evidence = models.JSONField(default=dict, blank=True)
    evidence_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cadence", "period_start"], name="one_run_per_period"),
            # A reviewer is never the signer (the two-person rule), also at the database.
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=models.F("signed_off_by")),
                name="reviewer_is_not_signer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_cadence_display()} {self.period_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored: dict[str, Any] | None = type(self).objects.filter(pk=self.pk).values().first()  # type: ignore[assignment]
            if stored is not None and stored["signed_off_at"] is not None:
                changed = {
                    f.attname
                    for f in self._meta.concrete_fields
                    if getattr(self, f.attname) != stored[f.attname]
                }
                if not changed:
                    return
                if not changed <= REVIEW_FIELDS or stored["status"] != RunStatus.AWAITING_REVIEW:
                    raise RunLocked(
                        "a signed-off checklist run cannot be changed; add a note instead"
                    )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if type(self).objects.filter(pk=self.pk).signed().exists():
            raise RunLocked("a signed-off checklist run cannot be deleted")
        return super().delete(*args, **kwargs)

    @property
    def period_label(self) -> str:
        if self.cadence == Cadence.DAILY:
            return f"{self.period_start:%a %Y-%m-%d}"
        if self.cadence == Cadence.WEEKLY:
            iso = self.period_start.isocalendar()
            return f"{iso.year}-W{iso.week:02d} ({self.period_start:%b %d})"
        if self.cadence == Cadence.MONTHLY:
            return f"{self.period_start:%B %Y}"
        return f"{self.period_start.year}-Q{(self.period_start.month - 1) // 3 + 1}"

    @property
    def is_signed(self) -> bool:
        return self.signed_off_at is not None

    @property
    def needs_review(self) -> bool:
        return self.cadence in Cadence.REVIEWED

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.status == RunStatus.OPEN and self.due_at < (now or timezone.now())


class ItemQuerySet(models.QuerySet["RunItem"]):
    def update(self, **kwargs: Any) -> int:
        if self.filter(run__signed_off_at__isnull=False).exists():
            raise RunLocked("the items of a signed-off checklist run cannot be changed")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(run__signed_off_at__isnull=False).exists():
            raise RunLocked("the items of a signed-off checklist run cannot be deleted")
        return super().delete()


class RunItem(models.Model):
    """One task of a run, copied from the template when the run opened: done by a named
    person with an optional note, or not applicable with a reason."""

    run = models.ForeignKey(ChecklistRun, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    evidence = models.CharField(max_length=30, choices=Evidence.choices, default=Evidence.NONE)
    role = models.CharField(max_length=10, choices=ItemRole.choices, default=ItemRole.SRE)
    guidance = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["run", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=ItemStatus.PENDING)
                | Q(checked_by__isnull=False, checked_at__isnull=False),
                name="finished_item_has_a_person",
            ),
            models.CheckConstraint(
                condition=~Q(status=ItemStatus.NOT_APPLICABLE) | ~Q(note=""),
                name="not_applicable_has_a_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        if ChecklistRun.objects.filter(pk=self.run_id).signed().exists():
            raise RunLocked("the items of a signed-off checklist run cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if ChecklistRun.objects.filter(pk=self.run_id).signed().exists():
            raise RunLocked("the items of a signed-off checklist run cannot be deleted")
        return super().delete(*args, **kwargs)

    @property
    def is_finished(self) -> bool:
        return self.status in ItemStatus.FINISHED


class RunNote(models.Model):
    """A note added to a run, before or after sign-off: how a correction is made. Notes are
    never edited or deleted."""

    run = models.ForeignKey(ChecklistRun, on_delete=models.CASCADE, related_name="notes")
    item = models.ForeignKey(
        RunItem, on_delete=models.CASCADE, null=True, blank=True, related_name="notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"note by {self.author} on {self.run}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and type(self).objects.filter(pk=self.pk).exists():
            raise RunLocked("a note is never edited; add another one")
        super().save(*args, **kwargs)


class RunEvent(models.Model):
    """The audit of a run: who did what, when (opening, checks, evidence, sign-off, review,
    notes, overdue notices)."""

    run = models.ForeignKey(ChecklistRun, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    detail = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.run})"
