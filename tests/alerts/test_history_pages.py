"""The two histories of a threshold are paged like every long list (``core.paging``): a check's
changes of state and the admin's tuning history, newest first, with counts, the page size
bounded where it enters (a 400 that says the range) and a page past the end shown as the last."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from alerts.choices import TuningKind
from alerts.models import Check, StateChange, Threshold, TuningNote
from core.choices import State
from core.paging import DEFAULT_PER_PAGE, MAX_PER_PAGE

pytestmark = pytest.mark.django_db

ROWS = 230
DASH = "\u2013"
HOSTILE = ["0", "-1", "9" * 30, "1.5", "garbage", "x" * 5000, "\x00"]


@pytest.fixture
def threshold(settings) -> Threshold:
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"  # the pages need no answer
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return Threshold.objects.get(key="api_error_rate")


@pytest.fixture
def check(threshold) -> Check:
    check = Check.objects.create(threshold=threshold, signature="api_error_rate", labels={})
    start = timezone.now() - timedelta(hours=ROWS)
    StateChange.objects.bulk_create(
        StateChange(
            check_obj=check,
            at=start + timedelta(hours=number),
            from_state=State.OK if number % 2 else State.WARNING,
            to_state=State.WARNING if number % 2 else State.OK,
            value=float(number),
            warning=threshold.warning,
            critical=threshold.critical,
            reason=f"change {number}",
        )
        for number in range(ROWS)
    )
    return check


@pytest.fixture
def notes(threshold, admin_user) -> None:
    start = timezone.now() - timedelta(hours=ROWS)
    TuningNote.objects.bulk_create(
        TuningNote(
            alert=threshold.alert,
            threshold=threshold,
            threshold_key=threshold.key,
            kind=TuningKind.NOTE,
            note=f"note {number}",
            author=admin_user,
            at=start + timedelta(hours=number),
        )
        for number in range(ROWS)
    )


def history(check: Check) -> str:
    return reverse("alerts:check-history", args=[check.pk])


def tuning(threshold: Threshold) -> str:
    return reverse("admin:alerts_threshold_tuning", args=[threshold.pk])


def test_it_pages_a_checks_changes_newest_first(check, sre_client):
    page = sre_client.get(history(check)).content.decode()
    assert f"1{DASH}{DEFAULT_PER_PAGE} of {ROWS}" in page
    assert f"change {ROWS - 1}<" in page and f"change {ROWS - DEFAULT_PER_PAGE}<" in page
    assert f"change {ROWS - DEFAULT_PER_PAGE - 1}<" not in page
    last = sre_client.get(history(check), {"page": 99, "per_page": 100}).content.decode()
    assert f"201{DASH}{ROWS} of {ROWS}" in last and "change 0<" in last


@pytest.mark.parametrize("param", ["page", "per_page"])
@pytest.mark.parametrize("value", [*HOSTILE, str(MAX_PER_PAGE + 1)])
def test_it_refuses_a_hostile_page_of_a_checks_changes(check, sre_client, param, value):
    if param == "page" and value == str(MAX_PER_PAGE + 1):
        return  # a page number that high is a page past the end, shown as the last
    response = sre_client.get(history(check), {param: value})
    assert response.status_code == 400
    assert "must be a whole number from 1 to" in response.content.decode()


def test_it_pages_the_tuning_history_newest_first(threshold, notes, admin_client):
    page = admin_client.get(tuning(threshold)).content.decode()
    assert f"1{DASH}{DEFAULT_PER_PAGE} of {ROWS}" in page
    assert f"note {ROWS - 1}<" in page and f"note {ROWS - DEFAULT_PER_PAGE - 1}<" not in page
    second = admin_client.get(tuning(threshold), {"page": 2}).content.decode()
    assert f"{DEFAULT_PER_PAGE + 1}{DASH}{2 * DEFAULT_PER_PAGE} of {ROWS}" in second
    assert 'rel="prev"' in second and 'rel="next"' in second


@pytest.mark.parametrize("value", [*HOSTILE, str(MAX_PER_PAGE + 1)])
def test_it_refuses_a_hostile_page_size_of_the_tuning_history(
    threshold, notes, admin_client, value
):
    response = admin_client.get(tuning(threshold), {"per_page": value})
    assert response.status_code == 400
    assert "must be a whole number from 1 to" in response.content.decode()


def test_it_says_the_restore_notes_limit_and_refuses_a_longer_one(
    threshold, admin_client, published
):
    from tests.tuning.test_tuning import change_url, form_data
    from tuning.forms import NOTE_MAX

    admin_client.post(change_url(threshold), form_data(threshold, warning=2, tuning_note="first"))
    page = admin_client.get(tuning(threshold)).content.decode()
    assert f'maxlength="{NOTE_MAX}"' in page
    change = TuningNote.objects.get(kind=TuningKind.CHANGED)
    response = admin_client.post(
        reverse("admin:alerts_threshold_restore", args=[threshold.pk, change.pk]),
        {"which": "before", "note": "x" * (NOTE_MAX + 1)},
        follow=True,
    )
    assert f"at most {NOTE_MAX}" in response.content.decode()
    assert TuningNote.objects.filter(kind=TuningKind.RESTORED).count() == 0


@pytest.fixture
def published(monkeypatch):
    monkeypatch.setattr("tuning.actions._publish_rules", lambda: None)
