from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from controlpanel.demo_users import seed_demo_users


class Command(BaseCommand):
    help = "Create the demo users (sre, sre2, business, admin) and demo data. Demo mode only."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            names = seed_demo_users()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Demo users ready: {', '.join(names)}")
