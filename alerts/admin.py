"""Checks and their changes of state in the admin: records the evaluation writes, read-only.
Threshold tuning is the tuning app's admin."""

from __future__ import annotations

from django.contrib import admin

from alerts.models import Check, StateChange
from core.admin import ReadOnlyAdmin


@admin.register(Check)
class CheckAdmin(ReadOnlyAdmin):
    list_display = ["signature", "state", "value", "since", "evaluated_at"]
    list_filter = ["state", "threshold__alert"]


@admin.register(StateChange)
class StateChangeAdmin(ReadOnlyAdmin):
    list_display = ["check_obj", "at", "from_state", "to_state", "value", "reason"]
    list_filter = ["to_state"]
