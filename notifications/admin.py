"""Admin for notification channels and their deliveries.

Channels are edited here, with their targets validated and a "Send test notification" button
(on the change form, and as an action on the list) that sends right away and shows the result.
Deliveries are read-only: they are the record of what was sent and what failed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import URLPattern, path

from core.admin import ReadOnlyAdmin
from core.choices import Category
from notifications import delivery as notifications
from notifications.models import Notification, NotificationChannel


class NotificationChannelForm(forms.ModelForm):
    # Checkboxes over the known categories, instead of the JSON text box of a JSONField: a
    # misspelt category would silently route nothing.
    categories = forms.MultipleChoiceField(
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Metric categories routed here; none ticked for all.",
    )

    class Meta:
        model = NotificationChannel
        fields = ["name", "kind", "target", "categories", "min_severity", "is_enabled"]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        kind, target = cleaned.get("kind"), cleaned.get("target")
        if kind and target:
            try:
                cleaned["target"] = notifications.clean_target(kind, target)
            except forms.ValidationError as exc:
                self.add_error("target", exc)
        return cleaned


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    form = NotificationChannelForm
    list_display = ["name", "kind", "target", "routed_categories", "min_severity", "is_enabled"]
    list_filter = ["kind", "min_severity", "is_enabled"]
    search_fields = ["name", "target"]
    actions = ["send_test_notification"]
    change_form_template = "admin/notifications/notificationchannel/change_form.html"

    @admin.display(description="Categories")
    def routed_categories(self, channel: NotificationChannel) -> str:
        return ", ".join(channel.categories) or "all"

    def get_urls(self) -> list[URLPattern]:
        meta = self.opts
        test = path(
            "<path:object_id>/test/",
            self.admin_site.admin_view(self.send_test_view),
            name=f"{meta.app_label}_{meta.model_name}_test",
        )
        return [test, *super().get_urls()]

    def send_test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change form's button: POST only, since it sends a message."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        channel = self.get_object(request, object_id)
        if channel is None:
            raise Http404("No such channel.")
        if not self.has_change_permission(request, channel):
            raise PermissionDenied
        self._send_test(request, channel)
        return redirect("admin:notifications_notificationchannel_change", channel.pk)

    @admin.action(description="Send test notification", permissions=["change"])
    def send_test_notification(
        self, request: HttpRequest, queryset: QuerySet[NotificationChannel]
    ) -> None:
        for channel in queryset:
            self._send_test(request, channel)

    def _send_test(self, request: HttpRequest, channel: NotificationChannel) -> None:
        sent = notifications.send_test(channel, actor=request.user)
        if sent.is_delivered:
            self.message_user(
                request, f"Test notification delivered to {channel}.", messages.SUCCESS
            )
        else:
            self.message_user(
                request, f"Test notification to {channel} failed: {sent.error}", messages.ERROR
            )


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["sent_at", "channel", "subject", "is_delivered", "error"]
    list_filter = ["is_delivered", "channel"]
    list_select_related = ["channel"]
    search_fields = ["subject", "error"]
    date_hierarchy = "sent_at"
