"""Read-only views of what the playbook loaded. Tuning (with a note for every change) comes
with the tuning workflow; until then thresholds change only through the playbook file."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from alerts.models import Alert, Check, StateChange, Threshold


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["name", "summary", "service"]


@admin.register(Threshold)
class ThresholdAdmin(ReadOnlyAdmin):
    list_display = [
        "key",
        "alert",
        "direction",
        "warning",
        "critical",
        "for_warning",
        "for_critical",
        "relative_to",
    ]
    list_filter = ["alert", "metric__category"]
    search_fields = ["key"]


@admin.register(Check)
class CheckAdmin(ReadOnlyAdmin):
    list_display = ["signature", "state", "value", "since", "evaluated_at"]
    list_filter = ["state", "threshold__alert"]


@admin.register(StateChange)
class StateChangeAdmin(ReadOnlyAdmin):
    list_display = ["check_obj", "at", "from_state", "to_state", "value", "reason"]
    list_filter = ["to_state"]
