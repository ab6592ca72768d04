from __future__ import annotations

from django.contrib import admin

from alerts.admin import ReadOnlyAdmin
from metrics.models import Dashboard, Metric, Panel


@admin.register(Metric)
class MetricAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "category", "unit"]
    list_filter = ["category"]
    search_fields = ["key", "name", "query"]


class PanelInline(admin.TabularInline):
    model = Panel
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Dashboard)
class DashboardAdmin(ReadOnlyAdmin):
    list_display = ["slug", "title"]
    inlines = [PanelInline]
