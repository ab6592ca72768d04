from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from controlpanel.live import nav_counts
from controlpanel.navigation import visible_items
from health import checks as health


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation a user may open with its incident counts, the self-monitoring banner,
    and the interval every live region refreshes on (for signed-in users)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "health_problems": [], "nav_counts": None}
    return {
        # A live refresh (static/js/live.js) must not read the messages: it shows none of
        # them, and a message read is gone from the page it was meant for.
        "is_live_refresh": request.headers.get("X-Live-Refresh") == "1",
        "nav_items": visible_items(user),
        "health_problems": health.problems(),
        "nav_counts": nav_counts(user),
        "live_interval": settings.LIVE_REFRESH_SECONDS,
    }
