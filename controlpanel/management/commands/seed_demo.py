from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from controlpanel.demo_users import seed_demo_users


class Command(BaseCommand):
    help = (
        "Create the demo users (sre, sre2, business, admin) once. Demo mode only. Run again, it "
        "leaves passwords and sessions alone unless DEMO_PASSWORD changed, and says whose "
        "password it set."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = seed_demo_users()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if result.created:
            self.stdout.write(f"Demo users created: {', '.join(result.created)}")
        if result.password_changed:
            self.stdout.write(
                f"DEMO_PASSWORD applied to {', '.join(result.password_changed)}: their "
                "password differed, so it was set (and their sessions end)"
            )
        self.stdout.write(f"Demo users ready: {', '.join(result.usernames)}")
