from __future__ import annotations

from django.apps import AppConfig


class RunbooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "runbooks"
    verbose_name = "Runbooks"
