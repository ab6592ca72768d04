"""Choice sets of the project package."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    """The groups people belong to. Administrators are staff users, not a group."""

    SRE = "sre", "SRE on call"
    BUSINESS = "business", "Business staff"
