from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from controlpanel.navigation import visible_items
from health import checks as health


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation a user may open and, for signed-in users, the self-monitoring banner."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "health_problems": []}
    return {"nav_items": visible_items(user), "health_problems": health.problems()}
