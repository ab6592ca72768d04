"""The worst requests the security review found, and what each costs now (issue 12: no request
of any role may grow a process past 300 MB or run past 10 s; over-limit input is refused
within 100 ms).

Each request goes through Django's test client on a throwaway SQLite database with the
playbook loaded and 10,000 firing alerts; Prometheus and Alertmanager point at closed ports,
so nothing is waited on but the panel itself. Printed per case: the answer's status, the
wall time, and how far the process's peak resident memory rose.

    .venv/bin/python bench/hostile.py
"""

from __future__ import annotations

import os
import resource
import socket
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
TOKEN = "bench-token"  # noqa: S105 (a throwaway database)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="controlpanel.settings",
        DEBUG="1",
        SECRET_KEY="bench-only",  # noqa: S106
        DATABASE_URL=f"sqlite:///{work / 'db.sqlite3'}",
        PROMETHEUS_URL=f"http://127.0.0.1:{free_port()}",
        ALERTMANAGER_URL=f"http://127.0.0.1:{free_port()}",
        ALERTMANAGER_WEBHOOK_TOKEN=TOKEN,
        CACHE_URL="locmem://",
        VAR_DIR=str(work),
    )
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from alerts.models import Check, Threshold
    from firing.models import FiringAlert
    from incidents import actions as incidents
    from runbooks.models import Action, Step

    call_command("migrate", verbosity=0)
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    admin = User.objects.create_superuser("bench", password="bench-only")  # noqa: S106
    admin.groups.add(*Group.objects.all())
    now = timezone.now()
    FiringAlert.objects.bulk_create(
        FiringAlert(
            fingerprint=f"{i:016x}",
            starts_at=now - timedelta(minutes=i % 500),
            status="firing",
            alertname=f"Storm{i % 40}",
            severity="critical" if i % 3 else "warning",
            labels={"alertname": f"Storm{i % 40}", "pod": f"backend-{i}", "tenant_tier": "team"},
            annotations={"summary": "a storm of alerts"},
        )
        for i in range(10_000)
    )
    client = Client()
    client.force_login(admin)
    threshold = Threshold.objects.get(key="api_error_rate")
    check = Check.objects.create(threshold=threshold, signature="api_error_rate", labels={})
    promql = Action.objects.filter(kind="promql").first() or Action.objects.create(
        step=Step.objects.first(), position=99, kind="promql", label="q", parameters={}
    )
    logs = Action.objects.filter(kind="k8s_logs").first()
    incident = incidents.open_incident("bench", actor=admin)
    nested = b"[" * 1000 + b"]" * 1000
    cases = [
        ("backtest for: 99999999999d", "get",
         f"/admin/alerts/threshold/{threshold.pk}/backtest/",
         {"warning": "1", "for_warning": "99999999999d"}),
        ("webhook, 1,000 nested brackets", "post", "/api/alertmanager/webhook", nested),
        ("webhook, 1 MB of brackets", "post", "/api/alertmanager/webhook", b"[" * 1_000_000),
        ("SLA report for 9999-12", "get", "/checklists/sla/", {"month": "9999-12"}),
        ("SLA report for 0001-01", "get", "/checklists/sla/", {"month": "0001-01"}),
        ("/alerts/ (10,000 firing)", "get", "/alerts/", {}),
        ("/alerts/ at the largest page", "get", "/alerts/", {"per_page": "100", "page": "50"}),
        ("/alerts/?per_page=999999", "get", "/alerts/", {"per_page": "999999"}),
        ("runbook audit, page 99999999", "get", "/runbooks/audit", {"page": "99999999"}),
        ("tuning note of 2.5 MB", "post", f"/admin/alerts/threshold/{threshold.pk}/change/",
         {"warning": "2", "tuning_note": "x" * 2_500_000}),
        ("PromQL action, a 1 MB query", "post", f"/runbooks/actions/{promql.pk}/run",
         {"mode": "run", f"a{promql.pk}-query": "x" * 1_000_000}),
        ("log search, tail 10**30 lines", "post", f"/runbooks/actions/{logs.pk}/run",
         {"mode": "run", f"a{logs.pk}-tail": "1" + "0" * 30}),
        ("check history ?per_page=10**9", "get", f"/checks/{check.pk}/history",
         {"per_page": "1000000000"}),
        ("tuning history ?page=-1", "get", f"/admin/alerts/threshold/{threshold.pk}/tuning/",
         {"page": "-1"}),
        ("/alerts/?order=random", "get", "/alerts/", {"order": "random"}),
        ("incident note of 2.5 MB", "post", f"/incidents/{incident.pk}/notes",
         {"text": "x" * 2_500_000}),
    ]  # fmt: skip
    for path in ("/", "/alerts/", f"/admin/alerts/threshold/{threshold.pk}/change/"):
        client.get(path, HTTP_HOST="127.0.0.1")  # imports and templates loaded before timing
    print(f"{'case':34} {'status':>6} {'time':>9} {'peak RSS rise':>14}")
    for name, method, path, data in cases:
        before = peak_mb()
        started = time.perf_counter()
        if method == "get":
            response = client.get(path, data, HTTP_HOST="127.0.0.1")
        elif isinstance(data, bytes):
            response = client.post(
                path,
                data,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
                HTTP_HOST="127.0.0.1",
            )
        else:
            response = client.post(path, data, HTTP_HOST="127.0.0.1")
        took = (time.perf_counter() - started) * 1000
        rise = peak_mb() - before
        print(f"{name:34} {response.status_code:>6} {took:>7.0f} ms {rise:>11.1f} MB")
    # A login brute force from one address: answers until the lockout, then 429.
    guesser = Client(HTTP_HOST="127.0.0.1")
    statuses = [
        guesser.post("/accounts/login/", {"username": "bench", "password": f"guess{i}"}).status_code
        for i in range(20)
    ]
    print(f"login brute force, 20 guesses: {statuses.count(200)} answered, "
          f"{statuses.count(429)} refused (locked out)")  # fmt: skip
    print(f"peak resident memory of the whole run: {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
