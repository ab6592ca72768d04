from __future__ import annotations

from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("incidents/", views.incidents, name="incidents"),
    path("incidents/open", views.open_incident, name="open-incident"),
    path("incidents/<int:pk>", views.incident, name="incident"),
    path("incidents/<int:pk>.md", views.export_incident, name="export-incident"),
    path("incidents/<int:pk>/notes", views.add_note, name="add-note"),
    path("incidents/<int:pk>/close", views.close_incident, name="close-incident"),
]
