from __future__ import annotations

from django.urls import path

from firing import views

app_name = "firing"

urlpatterns = [
    path("api/alertmanager/webhook", views.alertmanager_webhook, name="alertmanager-webhook"),
    path("alerts/", views.firing_alerts, name="firing"),
    path("alerts/<int:pk>/acknowledge", views.acknowledge_alert, name="firing-ack"),
    path("alerts/silences", views.silences, name="silences"),
    path("alerts/noise", views.noise_report, name="noise"),
    path("alerts/silences/new", views.create_silence, name="silence-create"),
    path("alerts/silences/ended", views.silence_history, name="silence-history"),
    path(
        "alerts/silences/<uuid:silence_id>/expire",
        views.expire_silence,
        name="silence-expire",
    ),
    path("alerts/silences/<uuid:silence_id>/edit", views.edit_silence, name="silence-edit"),
    path(
        "alerts/silences/<uuid:silence_id>/extend",
        views.extend_silence,
        name="silence-extend",
    ),
]
