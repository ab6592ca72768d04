"""Incident fixtures: the playbook loaded, checks on real thresholds, and breaches written as
the evaluation cycle writes them (a StateChange row and the check's new state)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from alerts.models import Check, StateChange, Threshold
from core.choices import State

T0 = datetime(2026, 11, 20, 8, 40, tzinfo=UTC)


@pytest.fixture
def playbook(db):
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115


def make_check(key: str, labels: dict[str, str] | None = None, state: str = State.OK) -> Check:
    labels = labels or {}
    return Check.objects.create(
        threshold=Threshold.objects.get(key=key),
        labels=labels,
        signature=f"{key}{sorted(labels.items())}",
        state=state,
        since=T0 - timedelta(hours=1),
        evaluated_at=T0,
    )


def change(check: Check, to_state: str, at: datetime, reason: str = "") -> StateChange:
    """What a cycle writes when a check changes state."""
    row = StateChange.objects.create(
        check_obj=check,
        at=at,
        from_state=check.state,
        to_state=to_state,
        value=0.62 if to_state in State.BREACHED else 0.12,
        warning=check.threshold.warning,
        critical=check.threshold.critical,
        reason=reason or f"went {to_state}",
    )
    Check.objects.filter(pk=check.pk).update(state=to_state, since=at, evaluated_at=at)
    check.state = to_state
    return row


@pytest.fixture
def enterprise(playbook) -> Check:
    return make_check("api_p95_latency.enterprise", {"tenant_tier": "enterprise"})


@pytest.fixture
def team(playbook) -> Check:
    return make_check("api_p95_latency.team", {"tenant_tier": "team"})


@pytest.fixture
def errors(playbook) -> Check:
    return make_check("api_error_rate")


@pytest.fixture
def disk(playbook) -> Check:
    return make_check("disk_usage", {"instance": "leanvibe-node-1"})
