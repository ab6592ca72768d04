from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from alerts.rules_export import RuleFileRejected, write_rule_file


class Command(BaseCommand):
    help = (
        "Write the thresholds as Prometheus alerting rules into PROMETHEUS_RULES_DIR, where "
        "Prometheus loads them (checked by promtool where it is installed), and print the path."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path = write_rule_file()
        except RuleFileRejected as exc:
            raise CommandError(f"promtool rejected the rules: {exc}") from exc
        self.stdout.write(f"Alerting rules written to {path}")
