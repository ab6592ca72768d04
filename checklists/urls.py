from __future__ import annotations

from django.urls import path

from checklists import views

app_name = "checklists"

urlpatterns = [
    path("checklists/", views.index, name="index"),
    path("checklists/runs/<int:pk>/", views.run_detail, name="run"),
    path("checklists/runs/<int:pk>/sign-off", views.sign_off, name="sign-off"),
    path("checklists/runs/<int:pk>/review", views.review_run, name="review-run"),
    path("checklists/runs/<int:pk>/notes", views.add_note, name="add-note"),
    path("checklists/runs/<int:pk>/evidence", views.gather_evidence, name="gather-evidence"),
    path("checklists/runs/<int:pk>/owner", views.set_owner, name="set-owner"),
    path("checklists/items/<int:pk>/check", views.check_item, name="check-item"),
    path("checklists/items/<int:pk>/not-applicable", views.not_applicable, name="not-applicable"),
    path("checklists/items/<int:pk>/reopen", views.reopen_item, name="reopen-item"),
    path("checklists/sla/", views.sla_report, name="sla"),
    path("checklists/export.csv", views.export_csv, name="export"),
]
