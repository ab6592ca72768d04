from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The leaf layer: choices, formatting, PromQL helpers and permission names that every app
    shares. No models; an app only so that its template filters load."""

    name = "core"
    verbose_name = "Shared helpers"
