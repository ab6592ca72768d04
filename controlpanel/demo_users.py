"""Demo users for the local stack (`make run`). Never created outside demo mode."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from controlpanel.roles import ensure_roles
from core.permissions import Role


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


@dataclass
class SeedResult:
    """What one seeding did, by username: users made now, users whose password was set to
    ``DEMO_PASSWORD`` because it no longer matched, and users whose password (and so their
    sessions) was left alone."""

    created: list[str] = field(default_factory=list)
    password_changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def usernames(self) -> list[str]:
        return [demo.username for demo in DEMO_USERS]


@transaction.atomic
def seed_demo_users(password: str | None = None) -> SeedResult:
    """Create the demo users once, and afterwards keep them usable with their README logins.

    Setup runs this on every `make run`. Setting the password again each time would change the
    hash, and with it the session hash Django checks on every request, so everyone was signed
    out at each start. A password is therefore set only when it no longer matches
    ``DEMO_PASSWORD`` (the variable changed, or someone changed it in the admin), and those
    users are reported. Roles and admin flags are put back when they drifted; names and email
    are written only on creation."""
    if not settings.DEMO_MODE:
        raise ImproperlyConfigured("Demo users are only created in demo mode (DEMO_MODE=1).")
    ensure_roles()
    password = password or settings.DEMO_PASSWORD
    user_model = get_user_model()
    result = SeedResult()
    for demo in DEMO_USERS:
        user = user_model.objects.filter(username=demo.username).first()
        if user is None:
            first, _, last = demo.full_name.partition(" ")
            user = user_model(
                username=demo.username,
                first_name=first,
                last_name=last,
                email=f"{demo.username}@demo.leanvibe.invalid",
            )
            user.is_staff = user.is_superuser = demo.is_admin
            user.set_password(password)
            user.save()
            result.created.append(demo.username)
        else:
            changed = []
            if (user.is_staff, user.is_superuser, user.is_active) != (
                demo.is_admin,
                demo.is_admin,
                True,
            ):
                user.is_staff = user.is_superuser = demo.is_admin
                user.is_active = True
                changed += ["is_staff", "is_superuser", "is_active"]
            # check_password may upgrade an outdated hash by itself (Django does the same at
            # every sign-in); it never changes which password is accepted.
            if not user.check_password(password):
                user.set_password(password)
                changed.append("password")
                result.password_changed.append(demo.username)
            if changed:
                user.save(update_fields=changed)
            if "password" not in changed:
                result.unchanged.append(demo.username)
        groups = [Group.objects.get(name=demo.role)] if demo.role is not None else []
        if set(user.groups.all()) != set(groups):
            user.groups.set(groups)
    return result
