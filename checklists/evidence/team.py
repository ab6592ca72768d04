"""Evidence of team changes: the people who joined lately, with their roles."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User

from checklists.evidence.result import UNVERIFIED, Result, Table, when


def team_changes(now: datetime) -> Result:
    """People who joined in the last quarter, with their roles: whom the training is for."""
    since = now - timedelta(days=92)
    users = list(
        User.objects.filter(date_joined__gte=since, is_active=True)
        .prefetch_related("groups")
        .order_by("date_joined")
    )
    rows = tuple(
        (
            u.get_username(),
            when(u.date_joined),
            ", ".join(g.name for g in u.groups.all()) or "no role",
        )
        for u in users
    )
    return Result(
        UNVERIFIED,
        f"{len(users)} person(s) joined in the last 92 days. Whether they were trained is for "
        "you to say.",
        (),
        Table(("User", "Joined", "Roles"), rows),
        {"joined": len(users)},
    )
