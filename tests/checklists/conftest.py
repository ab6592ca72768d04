"""Checklist fixtures: the playbook's templates loaded, and helpers to open runs."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command


@pytest.fixture
def templates(db):
    """The playbook loaded (thresholds, alerts and the four checklist templates)."""
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture
def runs(templates):
    """Today's, this week's, month's and quarter's runs, by cadence."""
    from checklists.actions import open_runs

    return {run.cadence: run for run in open_runs()}
