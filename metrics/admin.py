from __future__ import annotations

from django.contrib import admin

from alerts.admin import ReadOnlyAdmin
from alerts.tuning_forms import MetricForm
from metrics.models import Dashboard, Metric, Panel


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    """Metrics for new alerts are added here; their PromQL is run by Prometheus before it is
    saved. What a metric measures is fixed once it exists (thresholds and their history refer
    to it); the playbook's metrics follow the playbook file."""

    form = MetricForm
    list_display = ["key", "name", "category", "unit"]
    list_filter = ["category"]
    search_fields = ["key", "name", "query"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        if obj is None:
            return []
        return [f for f in MetricForm.Meta.fields if f not in ("description", "impact")]

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


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
