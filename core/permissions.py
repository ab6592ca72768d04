"""The panel's permissions, named once, and the one way views check them.

The permissions belong to ``controlpanel.Access`` (an unmanaged model that exists only to hold
them); ``controlpanel/roles.py`` gives them to the role groups.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse


class Role(models.TextChoices):
    """The groups people belong to (and the audiences of dashboards). Administrators are staff
    users, not a group."""

    SRE = "sre", "SRE on call"
    BUSINESS = "business", "Business staff"


VIEW_BUSINESS = "controlpanel.view_business"
VIEW_OPERATIONS = "controlpanel.view_operations"
RUN_ACTIONS = "controlpanel.run_actions"
APPROVE_ACTIONS = "controlpanel.approve_actions"
SIGN_OFF_CHECKLISTS = "controlpanel.sign_off_checklists"

AnyUser = AbstractBaseUser | AnonymousUser
View = TypeVar("View", bound=Callable[..., HttpResponse])

# Who may open a dashboard made for an audience.
AUDIENCE_PERMISSION: dict[str, str] = {Role.BUSINESS: VIEW_BUSINESS, Role.SRE: VIEW_OPERATIONS}


class Refused(PermissionDenied):
    """A 403 that says why and, where the view knows, who may open the page (the refusal
    page shows both, with the navigation and a way back)."""

    def __init__(self, why: str, *, permission: str = "", who: list[str] | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.permission = permission
        self.who = who or []


def has(user: AnyUser, permission: str) -> bool:
    return bool(user.has_perm(permission))  # type: ignore[union-attr]


def require(request: HttpRequest, permission: str, why: str) -> None:
    """Refuse the request (403 with ``why``) unless its user holds ``permission``."""
    if not has(request.user, permission):
        raise Refused(why, permission=permission)


def required(permission: str, why: str) -> Callable[[View], View]:
    """``@required(VIEW_OPERATIONS, "…")``: a view refused (403, saying why and who may open
    it) unless its user holds ``permission``; like Django's ``permission_required`` with
    ``raise_exception``, but the refusal page can name the roles that may."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            require(request, permission, why)
            return view(request, *args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


def sees_audience(user: AnyUser, audience: list[str]) -> bool:
    """Whether the user may open a dashboard made for these audiences."""
    return any(has(user, AUDIENCE_PERMISSION[a]) for a in audience if a in AUDIENCE_PERMISSION)
