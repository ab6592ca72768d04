from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from metrics.models import Dashboard, Panel


class PanelInline(ReadOnlyInline):
    model = Panel


@admin.register(Dashboard)
class DashboardAdmin(ReadOnlyAdmin):
    list_display = ["slug", "title"]
    inlines = [PanelInline]
