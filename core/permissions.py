"""The panel's permissions, named once, and the one way views check them.

The permissions belong to ``controlpanel.Access`` (an unmanaged model that exists only to hold
them); ``controlpanel/roles.py`` gives them to the role groups.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest


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

# Who may open a dashboard made for an audience.
AUDIENCE_PERMISSION: dict[str, str] = {Role.BUSINESS: VIEW_BUSINESS, Role.SRE: VIEW_OPERATIONS}


def has(user: AnyUser, permission: str) -> bool:
    return bool(user.has_perm(permission))  # type: ignore[union-attr]


def require(request: HttpRequest, permission: str, why: str) -> None:
    """Refuse the request (403 with ``why``) unless its user holds ``permission``."""
    if not has(request.user, permission):
        raise PermissionDenied(why)


def sees_audience(user: AnyUser, audience: list[str]) -> bool:
    """Whether the user may open a dashboard made for these audiences."""
    return any(has(user, AUDIENCE_PERMISSION[a]) for a in audience if a in AUDIENCE_PERMISSION)
