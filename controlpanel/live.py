"""What every page's navigation carries through an incident (the counts of firing alerts by
severity and of runs awaiting this user's approval), and the fragment that pages with no live
region of their own refresh it from (``static/js/live.js`` says how a page stays current)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core import permissions
from core.choices import Severity
from firing.choices import FiringStatus
from firing.models import FiringAlert
from runbooks.choices import RunStatus
from runbooks.models import ActionRun


@dataclass(frozen=True)
class NavCounts:
    """None where the user's role may not act on that list (the count is then not shown)."""

    critical: int | None = None
    warning: int | None = None
    other: int | None = None
    to_approve: int | None = None

    @property
    def firing(self) -> int:
        return (self.critical or 0) + (self.warning or 0) + (self.other or 0)

    @property
    def shows_alerts(self) -> bool:
        return self.critical is not None


def nav_counts(user: User | AnonymousUser) -> NavCounts:
    """Two small aggregate queries, for the roles that may act on them: SREs see the firing
    alerts; those who approve runs see the ones someone else asked for."""
    if not user.is_authenticated:
        return NavCounts()
    critical = warning = other = to_approve = None
    if permissions.has(user, permissions.VIEW_OPERATIONS):
        by_severity = dict(
            FiringAlert.objects.filter(status=FiringStatus.FIRING)
            .values_list("severity")
            .annotate(n=Count("pk"))
            .values_list("severity", "n")
        )
        critical = by_severity.pop(Severity.CRITICAL, 0)
        warning = by_severity.pop(Severity.WARNING, 0)
        other = sum(by_severity.values())
    if permissions.has(user, permissions.APPROVE_ACTIONS):
        to_approve = (
            ActionRun.objects.filter(status=RunStatus.AWAITING_APPROVAL)
            .exclude(requested_by_id=user.pk)
            .count()
        )
    return NavCounts(critical, warning, other, to_approve)


@require_GET
@login_required
def live_navigation(request: HttpRequest) -> HttpResponse:
    """The navigation's counts and the banner, for the pages that have no live region of their
    own: the base template and nothing else."""
    return render(request, "controlpanel/live.html")
