"""Admin: the templates (add, remove, reorder items), the on-call rota, and the runs, which a
signed-off run opens read-only (its model refuses changes anyway)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from checklists.models import (
    ChecklistRun,
    ChecklistTemplate,
    RotaMember,
    RunEvent,
    RunItem,
    RunNote,
    TemplateItem,
)
from core.admin import ReadOnlyInline


class TemplateItemInline(admin.TabularInline):
    model = TemplateItem
    extra = 1
    fields = ("position", "title", "evidence", "role", "guidance")


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ("title", "cadence", "due_after", "is_edited_in_admin", "updated_at")
    readonly_fields = ("cadence", "updated_at")
    fields = ("cadence", "title", "due_after", "is_edited_in_admin", "updated_at")
    inlines = [TemplateItemInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one template per cadence, from the playbook

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if any(fs.has_changed() for fs in formsets) or form.has_changed():
            # An edit here wins over the playbook file until an administrator clears the flag.
            ChecklistTemplate.objects.filter(pk=form.instance.pk).update(is_edited_in_admin=True)


@admin.register(RotaMember)
class RotaMemberAdmin(admin.ModelAdmin):
    list_display = ("user", "cadence", "position", "is_active")
    list_editable = ("position", "is_active")
    list_filter = ("cadence", "is_active")


class RunItemInline(ReadOnlyInline):
    model = RunItem
    fields = ("position", "title", "role", "status", "checked_by", "checked_at", "note")
    readonly_fields = fields


class RunNoteInline(ReadOnlyInline):
    model = RunNote
    fields = ("at", "author", "item", "text")
    readonly_fields = fields


class RunEventInline(ReadOnlyInline):
    model = RunEvent
    fields = ("at", "kind", "actor", "detail")
    readonly_fields = fields


@admin.register(ChecklistRun)
class ChecklistRunAdmin(admin.ModelAdmin):
    """Items are checked on the run's page, by named people; here an administrator may only
    move an open run's owner or due time. Signed-off runs are read-only and undeletable."""

    list_display = (
        "__str__",
        "cadence",
        "period_start",
        "status",
        "owner",
        "due_at",
        "signed_off_by",
        "reviewed_by",
    )
    list_filter = ("cadence", "status")
    date_hierarchy = "period_start"
    fields = (
        "cadence", "period_start", "period_end", "title", "opened_at", "due_at", "owner",
        "status", "signed_off_by", "signed_off_at", "reviewed_by", "reviewed_at", "evidence_at",
    )  # fmt: skip
    inlines = [RunItemInline, RunNoteInline, RunEventInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        editable = () if obj is not None and obj.is_signed else ("owner", "due_at")
        return tuple(f for f in self.fields if f not in editable)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are opened by the schedule, one per period

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_signed:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_signed:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Bulk deletion would meet signed runs; the model refuses, the admin does not offer it.
        found = super().get_actions(request)
        found.pop("delete_selected", None)
        return found
