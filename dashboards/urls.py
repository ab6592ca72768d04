from __future__ import annotations

from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("d/<slug:slug>", views.dashboard, name="dashboard"),
    path("d/<slug:slug>/<slug:metric>", views.panel_table, name="panel-table"),
]
