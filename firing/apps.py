from __future__ import annotations

from django.apps import AppConfig


class FiringConfig(AppConfig):
    name = "firing"
    verbose_name = "Alertmanager loop"
