from __future__ import annotations

from django.urls import path

from runbooks import views

app_name = "runbooks"

urlpatterns = [
    path("runbooks/", views.index, name="index"),
    path("runbooks/audit", views.audit, name="audit"),
    path("runbooks/actions/<int:pk>/run", views.run_action, name="run-action"),
    path("runbooks/runs/<int:pk>", views.run_detail, name="run"),
    path("runbooks/runs/<int:pk>/approve", views.approve_run, name="approve-run"),
    path("runbooks/runs/<int:pk>/cancel", views.cancel_run, name="cancel-run"),
    path("runbooks/runs/<int:pk>/refuse", views.refuse_run, name="refuse-run"),
    path(
        "runbooks/runs/<int:pk>/request-approval",
        views.request_approval,
        name="request-approval",
    ),
    path("runbooks/<str:name>", views.detail, name="detail"),
]
