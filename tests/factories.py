"""Small factories for test data."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.permissions import Role


def make_user(username: str, role: Role | None = None, *, password: str = "pw-not-used"):
    user = get_user_model().objects.create_user(
        username=username, password=password, email=f"{username}@example.test"
    )
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_firing_alert(alertname: str = "LeanVibeHighResponseTime", **overrides):
    """A firing alert as the webhook stores it; labels and annotations can be overridden."""
    import hashlib
    from datetime import timedelta

    from django.utils import timezone

    from firing.models import FiringAlert

    labels = {
        "alertname": alertname,
        "severity": "critical",
        "tenant_tier": "enterprise",
        "service": "leanvibe-backend",
        **overrides.pop("labels", {}),
    }
    values = {
        "fingerprint": overrides.pop(
            "fingerprint", hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]
        ),
        "starts_at": timezone.now() - timedelta(minutes=12),
        "status": "firing",
        "alertname": labels["alertname"],
        "severity": labels.get("severity", ""),
        "labels": labels,
        "annotations": {"summary": f"{alertname} summary", "description": "What is wrong."},
        "receiver": "controlpanel",
        **overrides,
    }
    return FiringAlert.objects.create(**values)
