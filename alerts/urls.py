from __future__ import annotations

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("api/status", views.api_status, name="api-status"),
    path("checks/<int:pk>/history", views.check_history, name="check-history"),
]
