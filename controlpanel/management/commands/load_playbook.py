from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from controlpanel.playbook import DEFAULT_PATH, load, load_playbook
from core.playbook_reader import PlaybookError


class Command(BaseCommand):
    help = (
        "Validate the playbook file as a whole, then load its metrics, thresholds, alerts "
        "and dashboards. Idempotent; keeps thresholds an administrator tuned, and says so."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            playbook = load(Path(options["path"]))
        except PlaybookError as exc:
            raise CommandError(f"Nothing was loaded.\n{exc}") from exc
        report = load_playbook(playbook)
        for line in report.lines():
            self.stdout.write(line)
