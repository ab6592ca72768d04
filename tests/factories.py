"""Small factories for test data."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from controlpanel.choices import Role


def make_user(username: str, role: Role | None = None, *, password: str = "pw-not-used"):
    user = get_user_model().objects.create_user(
        username=username, password=password, email=f"{username}@example.test"
    )
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    return user
