"""Choice sets of the firing app."""

from __future__ import annotations

from django.db import models


class FiringStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class SilenceAction(models.TextChoices):
    CREATED = "created", "Created"
    EXPIRED = "expired", "Expired"
