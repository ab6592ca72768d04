from __future__ import annotations

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "incidents"

    def ready(self) -> None:
        from alerts.signals import states_changed
        from incidents.receivers import on_states_changed

        states_changed.connect(on_states_changed, dispatch_uid="incidents.on_states_changed")
