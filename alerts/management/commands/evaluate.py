from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from alerts.models import Check
from alerts.tasks import run_cycle


class Command(BaseCommand):
    help = "Run one evaluation cycle now and print the state of every check."

    def handle(self, *args: Any, **options: Any) -> None:
        result = run_cycle()
        checks = Check.objects.select_related("threshold__metric").order_by("signature")
        width = max((len(c.signature) for c in checks), default=10)
        for check in checks:
            value = "-" if check.value is None else f"{check.value:.4g}"
            self.stdout.write(
                f"{check.signature:<{width}}  {check.state:<8}  {value:>10}  {check.reason}"
            )
        self.stdout.write(
            f"{result.checks} checks, {result.changes} changes, "
            f"{result.queries} queries in {result.seconds:.2f}s"
        )
