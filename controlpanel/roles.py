"""The panel's roles: which group holds which permission, and small questions about a user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, Group, Permission, User

from core import permissions
from core.permissions import Role

# Codenames of controlpanel.Access permissions per group. Later apps add their model
# permissions here too, so a role is defined in one place.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.SRE: [
        permissions.VIEW_BUSINESS,
        permissions.VIEW_OPERATIONS,
        permissions.RUN_ACTIONS,
        permissions.APPROVE_ACTIONS,
        permissions.SIGN_OFF_CHECKLISTS,
    ],
    Role.BUSINESS: [
        permissions.VIEW_BUSINESS,
        permissions.SIGN_OFF_CHECKLISTS,
    ],
}


def ensure_roles() -> None:
    """Create the role groups and give them exactly their permissions (adds, never removes
    permissions an administrator granted by hand)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.add(*wanted)


def ensure_roles_after_migrate(**kwargs: Any) -> None:
    ensure_roles()


def role_names(user: User | AnonymousUser) -> list[str]:
    """Human names of the roles a user has, for the header and the home page."""
    if not user.is_authenticated:
        return []
    names = [Role(g).label for g in user.groups.values_list("name", flat=True) if g in Role]
    if user.is_staff:
        names.append("Administrator")
    return names
