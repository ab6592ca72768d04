"""The home page: each role taken to what it needs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from checklists.models import ChecklistRun
from controlpanel.navigation import visible_items
from controlpanel.roles import role_names
from core import permissions
from health import checks as health
from runbooks import approvals


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Takes each role to what it needs: the cards are the navigation items the user may open,
    with a sentence on what each is for."""
    return render(
        request,
        "controlpanel/home.html",
        {
            "cards": [item for item in visible_items(request.user) if item.url_name != "home"],
            "roles": role_names(request.user),
            "beat": health.check_beat(),
            "prometheus": health.check_prometheus(),
            "overdue_runs": _overdue_runs(request),
            # runs awaiting this user's approval and their own requests (a live region)
            "approvals": (
                approvals.for_home(request.user)
                if permissions.has(request.user, permissions.VIEW_OPERATIONS)
                else None
            ),
        },
    )


def _overdue_runs(request: HttpRequest) -> list:
    """Maintenance checklist runs past their due time, for those who sign them off."""
    if not permissions.has(request.user, permissions.SIGN_OFF_CHECKLISTS):
        return []
    return list(ChecklistRun.objects.overdue().select_related("owner")[:10])
