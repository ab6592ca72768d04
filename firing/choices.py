"""Choice sets of the firing app."""

from __future__ import annotations

from django.db import models


class FiringStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class Resolution(models.TextChoices):
    """How the panel learnt that an alert ended."""

    NONE = "", "Not resolved"
    DELIVERED = "delivered", "Alertmanager delivered the resolution"
    # Alertmanager no longer held it when the firing list asked (its resolution never
    # reached the webhook, or it was resolved between two notifications).
    ABSENT = "absent", "Alertmanager no longer held it"


class SilenceAction(models.TextChoices):
    CREATED = "created", "Created"
    EXTENDED = "extended", "Extended"
    EDITED = "edited", "Edited"
    EXPIRED = "expired", "Expired"

    # Rows that give a silence its matchers, comment and times.
    @classmethod
    def defining(cls) -> tuple[str, ...]:
        return (cls.CREATED, cls.EXTENDED, cls.EDITED)


class ListOrder(models.TextChoices):
    """The firing list's order (``?order=``), each said in words on the page."""

    SEVERITY = "severity", "critical first, then the newest first"
    NEWEST = "newest", "the newest first"
    OLDEST = "oldest", "the oldest first"
