"""The runbook audit as a list and as a download: paginated with counts and its filters kept in
the links, its CSV without a live formula in any cell, and every GET parameter of the runbook
pages (and the action form's mode) bounded where it enters: a 400 that says what is allowed,
never a 500, never a run."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from runbooks.choices import RunStatus
from runbooks.executors import LABELS
from runbooks.models import Action, ActionRun
from tests.runbooks.conftest import NS

pytestmark = pytest.mark.django_db

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DASH = "\u2013"  # the en dash between the first and the last row of a page
HOSTILE = ["9" * 30, "-1", "0", "1e308", "NaN", "1.5", "garbage", "x" * 5000, "\x00", "9999-12"]


def _run(user, *, at, status=RunStatus.SUCCEEDED, **fields) -> ActionRun:
    defaults = {
        "runbook_name": "HighCPUUsage",
        "action_label": "Scale the backend",
        "kind": "k8s_scale",
        "parameters": {"namespace": NS, "replicas": 3},
        "status": status,
        "requested_by": user,
        "requested_at": at,
    }
    return ActionRun(**{**defaults, **fields})


@pytest.fixture
def many_runs(sre, sre2):
    """120 runs: 90 succeeded (by sre), 30 failed (by sre2), one a minute apart."""
    now = timezone.now()
    ActionRun.objects.bulk_create(
        _run(
            sre2 if i % 4 == 0 else sre,
            at=now - timedelta(minutes=i),
            status=RunStatus.FAILED if i % 4 == 0 else RunStatus.SUCCEEDED,
        )
        for i in range(120)
    )


# --- pagination -----------------------------------------------------------------------------


def test_it_pages_the_audit_with_counts(many_runs, sre_client, django_assert_num_queries):
    # The same queries for any page size: the page's keys, then its rows with their people
    # (and the navigation's two counts, of firing alerts and of runs to approve).
    with django_assert_num_queries(12):
        sre_client.get(reverse("runbooks:audit"), {"per_page": 100})
    with django_assert_num_queries(12):
        response = sre_client.get(reverse("runbooks:audit"))
    page = response.content.decode()
    assert f"1{DASH}50 of 120" in page and "Page 1 of 3" in page
    assert page.count('data-testid="run-row"') == 50
    newest = ActionRun.objects.order_by("-requested_at").first()
    assert f'href="/runbooks/runs/{newest.pk}"' in page
    last = sre_client.get(reverse("runbooks:audit"), {"page": 3}).content.decode()
    assert f"101{DASH}120 of 120" in last and last.count('data-testid="run-row"') == 20
    assert 'rel="next"' not in last and 'rel="prev"' in last


def test_it_keeps_the_filters_in_every_page_link_and_in_the_csv_link(many_runs, sre_client):
    query = {"status": "succeeded", "user": "sre", "per_page": 25, "page": 2}
    page = sre_client.get(reverse("runbooks:audit"), query).content.decode()
    assert f"26{DASH}50 of 90" in page and page.count('data-testid="run-row"') == 25
    assert 'href="?status=succeeded&amp;user=sre&amp;per_page=25&amp;page=3"' in page
    assert 'href="?status=succeeded&amp;user=sre&amp;per_page=25&amp;page=1"' in page
    # the download keeps the filters and takes every row they keep, not one page
    assert 'href="?status=succeeded&amp;user=sre&amp;format=csv"' in page
    assert "Export CSV (90 runs)" in page
    assert '<option value="succeeded" selected>' in page and 'value="sre"' in page
    rows = _rows(sre_client.get(reverse("runbooks:audit"), {**query, "format": "csv"}))
    assert len(rows) == 90 and {r["status"] for r in rows} == {"succeeded"}


def test_it_shows_a_page_past_the_end_as_the_last_page(many_runs, sre_client):
    page = sre_client.get(reverse("runbooks:audit"), {"page": 5000}).content.decode()
    assert f"101{DASH}120 of 120" in page


def test_it_says_when_no_run_matches_the_filters(many_runs, sre_client):
    page = sre_client.get(reverse("runbooks:audit"), {"user": "nobody"}).content.decode()
    assert "No runs match these filters." in page and "0 of 0" in page


def test_it_lists_twenty_runs_awaiting_approval_and_links_to_all(sre, sre_client, playbook):
    now = timezone.now()
    ActionRun.objects.bulk_create(
        _run(sre, at=now - timedelta(minutes=i), status=RunStatus.AWAITING_APPROVAL)
        for i in range(25)
    )
    page = sre_client.get(reverse("runbooks:index")).content.decode()
    assert "Waiting for approval: 25 runs" in page
    awaiting = page.split('data-testid="awaiting"')[1].split("</article>")[0]
    assert awaiting.count("<li>") == 20
    assert 'href="/runbooks/audit?status=awaiting_approval"' in awaiting


# --- the CSV ----------------------------------------------------------------------------------


def _rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_it_exports_no_cell_that_starts_a_formula(sre_client, roles, start):
    users = get_user_model().objects
    asker = users.create_user(f"{start}asker", password="x")
    approver = users.create_user(f"{start}approver", password="x")
    payload = f'{start}HYPERLINK("http://evil.example","click")'
    _run(
        asker,
        at=timezone.now(),
        status=RunStatus.FAILED,
        runbook_name=f"{start}Runbook",
        action_label=payload,
        kind=f"{start}kind",
        parameters=f"{start}cmd",  # a JSON string: written quoted, but still checked
        approved_by=approver,
        error=payload,
    ).save()
    rows = _rows(sre_client.get(reverse("runbooks:audit"), {"format": "csv"}))
    (row,) = rows
    for column, cell in row.items():
        assert not cell.startswith(FORMULA_STARTS), (column, cell)
    # Kept as typed, behind the apostrophe that makes a spreadsheet show it as text.
    assert row["action"] == row["error"] == "'" + payload
    assert row["runbook"] == f"'{start}Runbook" and row["kind"] == f"'{start}kind"
    assert row["requested_by"] == f"'{start}asker"
    assert row["approved_by"] == f"'{start}approver"
    assert row["status"] == "failed" and row["dry_run"] == "no"


# --- hostile GET parameters -------------------------------------------------------------------

AUDIT_NUMBERS = {
    "page": "Page must be a whole number from 1 to 100,000.",
    "per_page": "Page size must be a whole number from 1 to 100.",
}
AUDIT_CHOICES = {
    "status": "Status must be one of: awaiting_approval, pending, running",
    "format": "Format is csv, or left out for the page.",
}
AUDIT_TEXTS = {"runbook": 100, "user": 150, "kind": 40}


@pytest.mark.parametrize("param", sorted(AUDIT_NUMBERS))
@pytest.mark.parametrize("value", [*HOSTILE, "100001"])
def test_it_answers_400_for_a_hostile_audit_page(many_runs, sre_client, param, value):
    response = sre_client.get(reverse("runbooks:audit"), {param: value})
    assert response.status_code == 400
    page = response.content.decode()
    assert AUDIT_NUMBERS[param] in page and 'data-testid="run-row"' not in page


@pytest.mark.parametrize("param", sorted(AUDIT_CHOICES))
@pytest.mark.parametrize("value", HOSTILE)
def test_it_answers_400_for_a_hostile_audit_choice(many_runs, sre_client, param, value):
    response = sre_client.get(reverse("runbooks:audit"), {param: value})
    assert response.status_code == 400
    assert AUDIT_CHOICES[param] in response.content.decode()


@pytest.mark.parametrize("param", sorted(AUDIT_TEXTS))
@pytest.mark.parametrize("value", HOSTILE)
def test_it_bounds_the_audit_text_filters(many_runs, sre_client, param, value):
    """A free-text filter takes any short text (and finds nothing); too long or NUL is a 400."""
    response = sre_client.get(reverse("runbooks:audit"), {param: value})
    page = response.content.decode()
    if len(value) > AUDIT_TEXTS[param]:
        assert response.status_code == 400
        assert f"is at most {AUDIT_TEXTS[param]} characters." in page
    elif "\x00" in value:
        assert response.status_code == 400 and "Null characters are not allowed." in page
    else:
        assert response.status_code == 200 and "No runs match these filters." in page


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("value", HOSTILE)
def test_it_bounds_the_labels_a_runbook_link_passes(sre_client, playbook, label, value):
    response = sre_client.get(reverse("runbooks:detail", args=["HighCPUUsage"]), {label: value})
    page = response.content.decode()
    if len(value) > 200 or "\x00" in value:
        assert response.status_code == 400
        assert "The link&#x27;s labels were not used" in page
        assert value not in page
    else:
        assert response.status_code == 200


# --- the action form's mode ------------------------------------------------------------------


def _scale_form(mode: str | None, **values: str) -> tuple[str, dict[str, str]]:
    scale = Action.objects.filter(step__runbook__name="HighCPUUsage", kind="k8s_scale").first()
    data = {"namespace": NS, "deployment": "leanvibe-backend", "replicas": "2", **values}
    posted = {f"a{scale.pk}-{key}": value for key, value in data.items()}
    if mode is not None:
        posted["mode"] = mode
    return reverse("runbooks:run-action", args=[scale.pk]), posted


@pytest.mark.parametrize("mode", [None, "", "garbage", "RUN", "x" * 5000, "\x00"])
def test_it_refuses_an_action_posted_without_a_known_mode(sre_client, playbook, mode):
    url, data = _scale_form(mode)
    response = sre_client.post(url, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "run, request or dry_run." in page
    assert not ActionRun.objects.exists()


def test_it_refuses_nul_in_an_action_parameter(sre_client, playbook):
    url, data = _scale_form("request", deployment="leanvibe-backend\x00")
    response = sre_client.post(url, data)
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert not ActionRun.objects.exists()
