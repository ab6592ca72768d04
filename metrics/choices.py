"""Choice sets of the metrics app."""

from __future__ import annotations

from django.db import models


class Category(models.TextChoices):
    APPLICATION = "application", "Application performance"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    DATABASE = "database", "Database"
    CACHE = "cache", "Cache"
    BUSINESS = "business", "Business"


class Unit(models.TextChoices):
    SECONDS = "seconds", "seconds"
    PERCENT = "percent", "%"
    RPS = "rps", "req/s"
    COUNT = "count", ""
    USD = "usd", "USD"
    RATIO = "ratio", "ratio"
    PER_HOUR = "per_hour", "per hour"
