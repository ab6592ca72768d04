from __future__ import annotations

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("api/status", views.api_status, name="api-status"),
    path("checks/<int:pk>/history", views.check_history, name="check-history"),
    path("alerts/rules", views.rules_page, name="rules"),
    path("alerts/rules.yml", views.rules_download, name="rules-download"),
]
