"""The alert noise report: fired, time firing, flaps, share acknowledged, time silenced and the
last tuning, per alert over 7 and 30 days, the noisiest first."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.choices import TuningKind
from alerts.models import Alert, Check, StateChange, Threshold, TuningNote
from core.choices import State
from firing.choices import FiringStatus
from firing.models import FiringAlert
from firing.noise import build_report
from integrations.alertmanager import Matcher, Silence
from tests import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115


def fired(
    name: str,
    days_ago: float,
    hours: float | None,
    *,
    acked: bool = False,
    now: datetime | None = None,
) -> None:
    # Pass the report's `now`: a clock read here is later, and shortens the time firing.
    now = now or timezone.now()
    start = now - timedelta(days=days_ago)
    FiringAlert.objects.create(
        fingerprint=f"{name}{days_ago}",
        starts_at=start,
        ends_at=start + timedelta(hours=hours) if hours is not None else None,
        status=FiringStatus.RESOLVED if hours is not None else FiringStatus.FIRING,
        alertname=name,
        acknowledged_at=now if acked else None,
    )


def test_it_counts_firings_flaps_acknowledgements_and_silences(loaded, admin_user):
    now = timezone.now()
    fired("HighCPUUsage", 2, 1, acked=True, now=now)
    fired("HighCPUUsage", 3, 2, now=now)
    fired("HighCPUUsage", 20, 3, acked=True, now=now)
    fired("LeanVibeHighErrorRate", 0.1, None, now=now)  # still firing: counts up to now
    check = Check.objects.create(
        threshold=Threshold.objects.get(key="node_cpu"), signature="cpu", state=State.OK
    )
    for days, before in ((1, State.WARNING), (10, State.CRITICAL), (40, State.WARNING)):
        StateChange.objects.create(
            check_obj=check,
            at=now - timedelta(days=days),
            from_state=before,
            to_state=State.OK,
            warning=80,
            reason="x",
        )
    TuningNote.objects.create(
        alert=Alert.objects.get(name="HighCPUUsage"),
        kind=TuningKind.CHANGED,
        note="raised",
        author=admin_user,
    )
    silence = Silence(
        "s1",
        (Matcher("alertname", "HighCPUUsage"), Matcher("instance", "node-1")),
        now - timedelta(days=1),
        now + timedelta(hours=2),
        "active",
        "sre",
        "maintenance",
    )
    rows = build_report(now, [silence])
    assert [r.alert.name for r in rows[:2]] == ["HighCPUUsage", "LeanVibeHighErrorRate"]
    cpu = rows[0]
    week, month = cpu.windows["7 days"], cpu.windows["30 days"]
    assert (week.fired, week.firing_seconds, week.acknowledged) == (2, 3 * 3600, 1)
    assert (month.fired, month.firing_seconds, month.acknowledged) == (3, 6 * 3600, 2)
    assert (week.flaps, month.flaps) == (1, 2)
    assert week.silenced_seconds == pytest.approx(86400, abs=2)  # up to now, not to its end
    assert cpu.last_tuned.author == admin_user
    errors = rows[1].windows["7 days"]
    assert errors.fired == 1 and errors.firing_seconds == pytest.approx(0.1 * 86400, abs=2)
    assert errors.acknowledged_share == 0


def test_it_says_time_silenced_is_unknown_without_alertmanager(loaded, sre_client, settings):
    settings.ALERTMANAGER_URL = f"http://127.0.0.1:{services.free_port()}"
    fired("HighCPUUsage", 2, 1)
    page = sre_client.get("/alerts/noise").content.decode()
    assert "time silenced is unknown" in page
    assert page.index('data-alert="HighCPUUsage"') < page.index('data-alert="MRRDrop"')
    assert "never (playbook values)" in page
