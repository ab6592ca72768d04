"""Benchmark of the paginated lists: the runbook audit, the runbooks' index and the checklist
history, with 10,000 runbook runs (each with 2 KB of output) and 10,000 checklist runs (each
with an evidence snapshot, and 50,000 items) in a throwaway SQLite database. Target per page:
under 300 ms and 500 KB.

    .venv/bin/python bench/lists.py [--repeat N]

Each page is asked once to warm up, then N times (default 10) through Django's test client
signed in as an SRE; the median and the slowest are printed with the page's size, and the
median is held to the target (the slowest of ten swings with whatever else the machine runs:
the load average is printed beside it). The exports
(every row, not a page) are timed once for information. Nothing of the stack is touched: the
database, the cache and VAR_DIR live in a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
RUNS = 10_000
CHECKLIST_RUNS = 10_000
ITEMS_PER_RUN = 5
TARGET_SECONDS = 0.300
TARGET_BYTES = 500_000


def setup_django(folder: str) -> None:
    sys.path.insert(0, str(BASE))
    os.environ["DJANGO_SETTINGS_MODULE"] = "controlpanel.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ["VAR_DIR"] = folder
    os.environ["CACHE_URL"] = "locmem://"
    os.environ["USE_HTTPS"] = "0"
    os.environ["DEMO_MODE"] = "0"
    os.environ["DEBUG"] = "0"  # as served: no query log, no debug toolbar of any kind
    # Static files from the finders, as in the tests: no collectstatic manifest needed.
    os.environ["STATIC_MANIFEST"] = "0"
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-signs-nothing-that-is-kept-0123")
    import django

    django.setup()


def fill() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.utils import timezone

    from checklists.choices import Cadence, RunStatus
    from checklists.models import ChecklistRun, RunItem
    from controlpanel.roles import ensure_roles
    from core.permissions import Role
    from runbooks.choices import RunStatus as ActionStatus
    from runbooks.models import ActionRun

    call_command("migrate", verbosity=0)
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    ensure_roles()
    users = get_user_model().objects
    people = []
    for name in ("sre", "sre2", "sre3"):
        user = users.create_user(name)  # signed in with force_login: no password
        user.groups.add(Group.objects.get(name=Role.SRE))
        people.append(user)
    now = timezone.now()
    # Runs carry what real ones do: a few KB of output, and an evidence snapshot with a table.
    output = "\n".join(f"pod leanvibe-backend-{n} ready 1/1 restarts 0" for n in range(50))
    snapshot = {
        "items": {
            "backup": {
                "verdict": "ok",
                "summary": "last backup 3 h ago",
                "table": {
                    "columns": ["job", "age"],
                    "rows": [[f"job-{n}", "3 h"] for n in range(60)],
                },
            }
        }
    }
    statuses = [ActionStatus.SUCCEEDED] * 6 + [ActionStatus.FAILED] * 3 + [ActionStatus.LOST]
    ActionRun.objects.bulk_create(
        (
            ActionRun(
                runbook_name=("HighCPUUsage", "LeanVibeHighResponseTime", "RedisDown")[i % 3],
                action_label=f"Scale the backend to {i % 10 + 1} replicas",
                kind="k8s_scale",
                parameters={"namespace": "leanvibe-production", "replicas": i % 10 + 1},
                status=ActionStatus.AWAITING_APPROVAL if i % 20 == 0 else statuses[i % 10],
                requested_by=people[i % 3],
                approved_by=people[(i + 1) % 3] if i % 2 else None,
                requested_at=now - timedelta(minutes=i),
                output=output,
                error="Deployment not ready: " + "x" * 200
                if statuses[i % 10] != "succeeded"
                else "",
            )
            for i in range(RUNS)
        ),
        batch_size=2000,
    )
    first_day = date.today() - timedelta(days=CHECKLIST_RUNS)
    ChecklistRun.objects.bulk_create(
        (
            ChecklistRun(
                cadence=Cadence.DAILY,
                period_start=first_day + timedelta(days=i),
                period_end=first_day + timedelta(days=i),
                title="Daily monitoring tasks",
                opened_at=now - timedelta(days=CHECKLIST_RUNS - i),
                due_at=now - timedelta(days=CHECKLIST_RUNS - i) + timedelta(hours=10),
                owner=people[i % 3],
                evidence=snapshot,
                # a third left open (so overdue), the rest signed off
                status=RunStatus.OPEN if i % 3 == 0 else RunStatus.COMPLETE,
                signed_off_by=None if i % 3 == 0 else people[i % 3],
                signed_off_at=None if i % 3 == 0 else now - timedelta(days=CHECKLIST_RUNS - i),
            )
            for i in range(CHECKLIST_RUNS)
        ),
        batch_size=2000,
    )
    run_ids = ChecklistRun.objects.values_list("pk", flat=True)
    RunItem.objects.bulk_create(
        (
            RunItem(run_id=pk, position=n, title=f"Item {n}", note="")
            for pk in run_ids.iterator()
            for n in range(1, ITEMS_PER_RUN + 1)
        ),
        batch_size=5000,
    )


def measure(client: object, path: str, repeat: int) -> tuple[float, float, int, int]:
    client.get(path)  # type: ignore[attr-defined]
    times, size, status = [], 0, 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - started)
        size, status = len(response.content), response.status_code
    return statistics.median(times), max(times), size, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder)
        from django.contrib.auth import get_user_model
        from django.test import Client

        started = time.perf_counter()
        fill()
        print(
            f"filled {RUNS:,} runbook runs, {CHECKLIST_RUNS:,} checklist runs and "
            f"{CHECKLIST_RUNS * ITEMS_PER_RUN:,} items in {time.perf_counter() - started:.1f} s"
        )
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(get_user_model().objects.get(username="sre"))
        pages = [
            "/runbooks/audit",
            "/runbooks/audit?page=200",
            "/runbooks/audit?per_page=100&page=100",
            "/runbooks/audit?status=failed&user=sre2&page=3",
            "/runbooks/audit?runbook=HighCPUUsage&kind=k8s_scale&per_page=100&page=10",
            "/runbooks/",
            "/runbooks/HighCPUUsage",
            "/checklists/",
            "/checklists/?page=200",
            "/checklists/?per_page=100&page=100",
            "/checklists/?status=overdue&cadence=daily&page=20",
        ]
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(f"load average {load} on {os.cpu_count()} CPUs")
        print(f"{'page':72} {'median':>8} {'slowest':>8} {'size':>9}  status")
        missed = []
        for path in pages:
            median, slowest, size, status = measure(client, path, repeat)
            flag = ""
            if median >= TARGET_SECONDS or size >= TARGET_BYTES or status != 200:
                flag = "  over target"
                missed.append(path)
            print(
                f"{path:72} {median * 1000:6.0f}ms {slowest * 1000:6.0f}ms "
                f"{size / 1000:7.1f}KB  {status}{flag}"
            )
        print("exports (every row, for information):")
        for path in ("/runbooks/audit?format=csv", "/checklists/export.csv"):
            median, slowest, size, status = measure(client, path, 1)
            print(f"{path:72} {median * 1000:6.0f}ms {'':8} {size / 1e6:7.1f}MB  {status}")
        target = f"{TARGET_SECONDS * 1000:.0f} ms and {TARGET_BYTES / 1000:.0f} KB"
        print(f"every page under {target}" if not missed else f"over {target}: {missed}")
        if missed:
            sys.exit(1)


if __name__ == "__main__":
    main()
