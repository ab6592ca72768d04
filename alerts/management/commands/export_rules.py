from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from alerts.rules_export import export_rules, render


class Command(BaseCommand):
    help = (
        "Print the thresholds as Prometheus alerting rules (the playbook's template format), "
        "or write them to --output."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, help="write to this file instead of stdout")

    def handle(self, *args: Any, output: Path | None = None, **options: Any) -> None:
        text = render(export_rules())
        if output is None:
            self.stdout.write(text, ending="")
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        rules = sum(len(g["rules"]) for g in export_rules()["groups"])
        self.stderr.write(f"wrote {rules} rules to {output}")
