from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from incidents.models import Incident, IncidentCheck, IncidentEvent


class IncidentCheckInline(ReadOnlyInline):
    model = IncidentCheck
    fields = ("check_obj", "joined_at", "state_change")


class IncidentEventInline(ReadOnlyInline):
    model = IncidentEvent
    fields = ("at", "kind", "actor", "text")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    """Incidents are written by the panel and on their pages; the admin only shows them."""

    list_display = ("pk", "title", "status", "severity", "opened_at", "closed_at")
    list_filter = ("status", "severity")
    search_fields = ("title",)
    inlines = (IncidentCheckInline, IncidentEventInline)
