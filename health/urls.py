from __future__ import annotations

from django.urls import path

from health import views

urlpatterns = [
    path("health", views.health_view, name="health"),
    path("health/db", views.health_db, name="health-db"),
    path("metrics", views.metrics_view, name="metrics"),
]
