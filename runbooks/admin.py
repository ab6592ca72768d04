"""Runbooks in the admin: steps inline on a runbook, actions inline on a step, runs read-only.
An alert's runbook cannot be deleted: every alert must keep a response procedure."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from runbooks.kinds import check_parameters
from runbooks.models import Action, ActionRun, Runbook, Step


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    fields = ["position", "title", "time_box", "note"]
    show_change_link = True


@admin.register(Runbook)
class RunbookAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "title", "severity", "alert"]
    list_filter = ["kind"]
    search_fields = ["name", "title"]
    inlines = [StepInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name", "kind", "alert"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.alert_id is not None:
            return False  # an alert without a runbook is what the playbook forbids
        return super().has_delete_permission(request, obj)


class ActionAdminForm(ModelForm):
    class Meta:
        model = Action
        fields = ["position", "kind", "label", "parameters", "command"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        problems = check_parameters(
            data.get("kind", ""),
            data.get("parameters") or {},
            targets=tuple(settings.RUNBOOK_HTTP_TARGETS),
        )
        if problems:
            raise ValidationError(problems)
        return data


class ActionInline(admin.StackedInline):
    model = Action
    form = ActionAdminForm
    extra = 0


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ["runbook", "position", "title", "time_box"]
    list_filter = ["runbook"]
    inlines = [ActionInline]


@admin.register(ActionRun)
class ActionRunAdmin(ReadOnlyAdmin):
    """The runs are their own audit record: shown, never edited."""

    list_display = ["pk", "runbook_name", "action_label", "status", "requested_by", "approved_by",
                    "requested_at"]  # fmt: skip
    list_filter = ["status", "kind", "runbook_name"]
