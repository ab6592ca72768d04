"""The site's navigation: each entry says which permission opens it, so a user is only shown
what they may open. Apps add their pages here as they arrive."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    description: str
    # None: every signed-in user; "staff": administrators; otherwise a permission.
    permission: str | None = None

    def is_visible_to(self, user: User | AnonymousUser) -> bool:
        if not user.is_authenticated:
            return False
        if self.permission is None:
            return True
        if self.permission == "staff":
            return user.is_staff
        return user.has_perm(self.permission)


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("Home", "home", "Where you start."),
    NavItem(
        "Administration",
        "admin:index",
        "Users, roles, Celery schedules and, as they arrive, thresholds and runbooks.",
        permission="staff",
    ),
)


def visible_items(user: User | AnonymousUser) -> list[NavItem]:
    return [item for item in NAV_ITEMS if item.is_visible_to(user)]
