"""The panel's permissions, named once, and the one way views check them.

The permissions belong to ``controlpanel.Access`` (an unmanaged model that exists only to hold
them); ``controlpanel/roles.py`` gives them to the role groups.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

VIEW_BUSINESS = "controlpanel.view_business"
VIEW_OPERATIONS = "controlpanel.view_operations"
RUN_ACTIONS = "controlpanel.run_actions"
APPROVE_ACTIONS = "controlpanel.approve_actions"
SIGN_OFF_CHECKLISTS = "controlpanel.sign_off_checklists"

AnyUser = AbstractBaseUser | AnonymousUser


def has(user: AnyUser, permission: str) -> bool:
    return bool(user.has_perm(permission))  # type: ignore[union-attr]


def require(request: HttpRequest, permission: str, why: str) -> None:
    """Refuse the request (403 with ``why``) unless its user holds ``permission``."""
    if not has(request.user, permission):
        raise PermissionDenied(why)
