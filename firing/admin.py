"""The Alertmanager loop's records in the admin: acknowledgements and the silence audit, as the
panel wrote them (read-only)."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from firing.models import Acknowledgement, SilenceAudit


@admin.register(Acknowledgement)
class AcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ["at", "alert", "actor", "comment"]
    list_select_related = ["alert", "actor"]
    search_fields = ["alert__alertname", "comment"]


@admin.register(SilenceAudit)
class SilenceAuditAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "silence_id", "previous_id", "actor", "comment", "ends_at"]
    list_filter = ["action"]
    list_select_related = ["actor"]
    search_fields = ["silence_id", "previous_id", "comment"]
