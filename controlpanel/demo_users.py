"""Demo users for the local stack (`make run`). Never created outside demo mode."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from controlpanel.choices import Role
from controlpanel.roles import ensure_roles


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: Role | None
    is_admin: bool = False


DEMO_USERS = (
    DemoUser("sre", "Sam Reyes", Role.SRE),
    DemoUser("sre2", "Alex Kim", Role.SRE),
    DemoUser("business", "Bea Novak", Role.BUSINESS),
    DemoUser("admin", "Ada Lund", Role.SRE, is_admin=True),
)


@transaction.atomic
def seed_demo_users(password: str | None = None) -> list[str]:
    """Create or refresh the demo users; returns their usernames. The password is reset to
    ``DEMO_PASSWORD`` every time so the README's logins always work."""
    if not settings.DEMO_MODE:
        raise ImproperlyConfigured("Demo users are only created in demo mode (DEMO_MODE=1).")
    ensure_roles()
    password = password or settings.DEMO_PASSWORD
    user_model = get_user_model()
    for demo in DEMO_USERS:
        first, _, last = demo.full_name.partition(" ")
        user, _ = user_model.objects.get_or_create(username=demo.username)
        user.first_name, user.last_name = first, last
        user.email = f"{demo.username}@demo.leanvibe.invalid"
        user.is_staff = user.is_superuser = demo.is_admin
        user.is_active = True
        user.set_password(password)
        user.save()
        if demo.role is not None:
            user.groups.set([Group.objects.get(name=demo.role)])
    return [demo.username for demo in DEMO_USERS]
