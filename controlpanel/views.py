"""The home page: each role taken to what it needs."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from checklists.models import ChecklistRun
from controlpanel.navigation import visible_items
from controlpanel.roles import ROLE_PERMISSIONS, role_names
from core import permissions
from core.permissions import Role
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


def _who_may(exception: Exception | None) -> list[str]:
    """The roles that may open a refused page, as far as the refusal says: its own list, or
    the roles holding the permission it names; administrators may open everything."""
    who = list(getattr(exception, "who", None) or [])
    permission = getattr(exception, "permission", "")
    if permission and not who:
        who = [Role(role).label for role, held in ROLE_PERMISSIONS.items() if permission in held]
    return [*who, "Administrators"] if who else []


@never_cache
def refused(
    request: HttpRequest, exception: Exception | None = None, *, names_user: bool = False
) -> HttpResponse:
    """The 403 page (``handler403``): why, who may open the page, who the user is, and the
    pages their role does open, under the site's own navigation."""
    why = str(exception or "") or "Your role cannot open this page."
    return render(
        request,
        "403.html",
        {
            "why": why,
            "who_may": _who_may(exception),
            "roles": role_names(request.user),
            "names_user": names_user,  # the reason already says who is signed in
            "cards": [item for item in visible_items(request.user) if item.url_name != "home"],
        },
        status=403,
    )


@login_not_required
def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's sign-in. Someone signed in who is not an administrator is told so, on the
    refusal page, instead of being shown a sign-in form as if they were signed out."""
    if request.user.is_authenticated and not request.user.is_staff:
        return refused(
            request,
            permissions.Refused(
                f"You are signed in as {request.user.get_username()}, who cannot administer. "
                "The administration (thresholds and their tuning, users, schedules) is for "
                "administrators."
            ),
            names_user=True,
        )
    return admin.site.login(request)
