from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from checklists.actions import open_runs


class Command(BaseCommand):
    help = (
        "Open every checklist run that is due and missing (the current period of each cadence, "
        "and periods missed during downtime) and print how many were opened."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        opened = open_runs()
        self.stdout.write(f"Opened {len(opened)} checklist runs.")
