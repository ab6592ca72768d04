from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ControlPanelConfig(AppConfig):
    name = "controlpanel"
    verbose_name = "Control panel"

    def ready(self) -> None:
        # Here, not at the top: roles needs the auth models, which exist only once the app
        # registry is ready (Django's own pattern for signal receivers). No circle is dodged.
        from controlpanel.roles import ensure_roles_after_migrate

        # Runs after auth has created this app's permissions (auth connected first), so the
        # groups can be given them. Idempotent: it only adds what is missing.
        post_migrate.connect(ensure_roles_after_migrate, sender=self)
