"""Hostile input on the checklist pages: every GET parameter is bounded where it enters (a 400
that says the allowed range, never a 500), every posted text has a length limit shown beside
its field and refuses NUL, the CSV export never carries a live formula, and the history is
paginated with counts and its filters kept in the links."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from checklists import actions
from checklists.choices import Cadence, EventKind, ItemStatus, RunStatus
from checklists.models import ChecklistRun, RunEvent, RunItem, RunNote
from core.permissions import Role
from tests.factories import make_user

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DASH = "\u2013"  # the en dash between the first and the last row of a page
HOSTILE = [
    "9" * 30,
    "-1",
    "0",
    "1e308",
    "NaN",
    "1.5",
    "garbage",
    "x" * 5000,
    "\x00",
    "0001-01",
    "9999-12",
]


@pytest.fixture
def no_prometheus(settings):
    # The SLA report asks Prometheus; refused at once here, the page says so.
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"


# --- the SLA report's month -----------------------------------------------------------------


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1999-12", "2026-05", "2026-13"])
def test_it_refuses_sla_months_outside_2000_to_next_month(
    templates, sre_client, no_prometheus, month
):
    with time_machine.travel(datetime(2026, 3, 15, 12, tzinfo=UTC), tick=False):
        response = sre_client.get(reverse("checklists:sla"), {"month": month})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Month must be a month from 2000-01 to 2026-04" in page
    assert 'data-testid="sla"' not in page


@pytest.mark.parametrize(
    ("month", "label"), [("2000-01", "January 2000"), ("2026-04", "April 2026")]
)
def test_it_shows_the_first_and_last_month_of_the_range(
    templates, sre_client, no_prometheus, month, label
):
    with time_machine.travel(datetime(2026, 3, 15, 12, tzinfo=UTC), tick=False):
        response = sre_client.get(reverse("checklists:sla"), {"month": month})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"SLA report — {label}" in page
    assert 'min="2000-01"' in page and 'max="2026-04"' in page


def test_it_links_no_month_before_2000(templates, sre_client, no_prometheus):
    page = sre_client.get(reverse("checklists:sla"), {"month": "2000-01"}).content.decode()
    assert "previous month" not in page
    page = sre_client.get(reverse("checklists:sla"), {"month": "2000-02"}).content.decode()
    assert 'href="?month=2000-01"' in page


# --- every GET parameter, with hostile values -------------------------------------------------

NUMBERS = {"page": "1 to 100,000", "per_page": "1 to 100"}
CHOICES = {
    "cadence": "Cadence must be one of: daily, weekly, monthly, quarterly",
    "status": "Status must be one of: open, awaiting_review, complete, overdue",
}


@pytest.mark.parametrize("value", [*HOSTILE, "100001"])
def test_it_answers_400_for_a_hostile_page_number(runs, sre_client, value):
    response = sre_client.get(reverse("checklists:index"), {"page": value})
    assert response.status_code == 400
    assert "Page must be a whole number from 1 to 100,000." in response.content.decode()


@pytest.mark.parametrize("value", [*HOSTILE, "101"])
def test_it_answers_400_for_a_hostile_page_size(runs, sre_client, value):
    response = sre_client.get(reverse("checklists:index"), {"per_page": value})
    assert response.status_code == 400
    assert "Page size must be a whole number from 1 to 100." in response.content.decode()


@pytest.mark.parametrize("param", sorted(CHOICES))
@pytest.mark.parametrize("value", HOSTILE)
def test_it_answers_400_for_a_hostile_filter(runs, sre_client, param, value):
    response = sre_client.get(reverse("checklists:index"), {param: value})
    assert response.status_code == 400
    page = response.content.decode()
    assert CHOICES[param] in page and 'data-testid="history"' not in page


@pytest.mark.parametrize("value", HOSTILE)
def test_it_answers_400_for_a_hostile_sla_month(templates, sre_client, no_prometheus, value):
    response = sre_client.get(reverse("checklists:sla"), {"month": value})
    assert response.status_code == 400
    assert "Month must be a month from 2000-01 to " in response.content.decode()


@pytest.mark.parametrize("name", ["checklists:index", "checklists:export", "checklists:sla"])
def test_it_ignores_parameters_a_page_does_not_take(templates, sre_client, no_prometheus, name):
    assert sre_client.get(reverse(name), {"x": "\x00" * 10, "y": "9" * 30}).status_code == 200


# --- posted text: limits shown, refused when longer, NUL refused ------------------------------


def _sre_item(run: ChecklistRun) -> RunItem:
    return run.items.filter(role="sre").order_by("position").first()


def test_it_shows_each_text_limit_beside_its_field(runs, sre_client):
    page = sre_client.get(reverse("checklists:run", args=[runs[Cadence.DAILY].pk])).content
    page = page.decode()
    assert 'name="note" maxlength="500"' in page and "Optional, at most 500 characters." in page
    assert 'name="reason" maxlength="500"' in page
    assert "Why it does not apply, at most 500 characters." in page
    assert 'maxlength="2000"' in page and "At most 2,000 characters." in page


@pytest.mark.parametrize(
    ("url_name", "field", "limit", "message"),
    [
        ("checklists:check-item", "note", 500, "Note is at most 500 characters (this one has 501)"),
        (
            "checklists:not-applicable",
            "reason",
            500,
            "Reason is at most 500 characters (this one has 501)",
        ),
    ],
)
def test_it_refuses_item_text_over_its_limit_and_changes_nothing(
    runs, sre_client, url_name, field, limit, message
):
    item = _sre_item(runs[Cadence.DAILY])
    events = RunEvent.objects.count()
    response = sre_client.post(
        reverse(url_name, args=[item.pk]), {field: "n" * (limit + 1)}, follow=True
    )
    assert message in response.content.decode()
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING and item.note == ""
    assert RunEvent.objects.count() == events
    # at the limit it is taken
    sre_client.post(reverse(url_name, args=[item.pk]), {field: "n" * limit})
    item.refresh_from_db()
    assert item.status != ItemStatus.PENDING and item.note == "n" * limit


def test_it_refuses_a_run_note_over_2000_characters(runs, sre_client):
    run = runs[Cadence.DAILY]
    url = reverse("checklists:add-note", args=[run.pk])
    response = sre_client.post(url, {"text": "n" * 2001}, follow=True)
    assert "Note is at most 2,000 characters (this one has 2001)" in response.content.decode()
    assert not RunNote.objects.exists()
    sre_client.post(url, {"text": "n" * 2000})
    assert RunNote.objects.get().text == "n" * 2000


@pytest.mark.parametrize(
    ("url_name", "field", "on"),
    [
        ("checklists:check-item", "note", "item"),
        ("checklists:not-applicable", "reason", "item"),
        ("checklists:add-note", "text", "run"),
    ],
)
def test_it_refuses_nul_characters_in_every_text_field(runs, sre_client, url_name, field, on):
    run = runs[Cadence.DAILY]
    item = _sre_item(run)
    target = item.pk if on == "item" else run.pk
    events = RunEvent.objects.count()
    response = sre_client.post(reverse(url_name, args=[target]), {field: "ok\x00"}, follow=True)
    assert "Null characters are not allowed." in response.content.decode()
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING
    assert RunEvent.objects.count() == events and not RunNote.objects.exists()


def test_it_says_why_when_the_reason_is_missing(runs, sre_client):
    item = _sre_item(runs[Cadence.DAILY])
    url = reverse("checklists:not-applicable", args=[item.pk])
    response = sre_client.post(url, {"reason": "   "}, follow=True)
    assert "Say why the item does not apply." in response.content.decode()
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING


@pytest.mark.parametrize(
    ("owner", "message"),
    [
        *((value, "Choose an active person from the list, or nobody.") for value in HOSTILE[:8]),
        ("999999", "Choose an active person from the list, or nobody."),
        ("\x00", "Null characters are not allowed."),
    ],
)
def test_it_refuses_an_owner_who_is_not_an_active_person(runs, sre, sre_client, owner, message):
    run = runs[Cadence.DAILY]
    actions.set_owner(run, actor=sre, owner=sre)
    url = reverse("checklists:set-owner", args=[run.pk])
    response = sre_client.post(url, {"owner": owner}, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert ChecklistRun.objects.get(pk=run.pk).owner == sre


def test_it_assigns_an_owner_and_nobody(runs, sre, sre2, sre_client):
    run = runs[Cadence.DAILY]
    url = reverse("checklists:set-owner", args=[run.pk])
    sre_client.post(url, {"owner": sre2.pk})
    assert ChecklistRun.objects.get(pk=run.pk).owner == sre2
    sre_client.post(url, {"owner": ""})
    assert ChecklistRun.objects.get(pk=run.pk).owner is None


# --- the CSV export ---------------------------------------------------------------------------


def _formula_user(start: str, name: str):
    # The username validator would refuse "=" at the form; the admin or a directory sync may
    # not: the export must be safe whatever the name.
    user = make_user(f"{start}{name}", Role.SRE)
    return get_user_model().objects.get(pk=user.pk)


def _cells(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_it_exports_no_cell_that_starts_a_formula(runs, sre_client, start):
    daily = runs[Cadence.MONTHLY]
    owner, signer, reviewer = (
        _formula_user(start, "owner"),
        _formula_user(start, "signer"),
        _formula_user(start, "reviewer"),
    )
    actions.set_owner(daily, actor=owner, owner=owner)
    items = list(daily.items.order_by("position"))
    RunItem.objects.filter(pk=items[0].pk).update(title=f'{start}HYPERLINK("http://x","t")')
    actions.check_item(items[0], actor=signer, note=f"{start}cmd|' /C calc'!A0")
    for item in items[1:]:
        actions.mark_not_applicable(item, actor=signer, reason=f"{start}SUM(1,2)")
    actions.sign_off(daily, actor=signer)
    actions.review(ChecklistRun.objects.get(pk=daily.pk), actor=reviewer)

    rows = _cells(sre_client.get(reverse("checklists:export")))
    ours = [r for r in rows if r["run"] == str(daily.pk)]
    assert len(ours) == len(items)
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), (column, cell)
    first = ours[0]
    # The text is kept, behind the apostrophe that makes a spreadsheet show it as text.
    assert first["item"] == f'\'{start}HYPERLINK("http://x","t")'
    if start.strip():
        assert first["note"] == f"'{start}cmd|' /C calc'!A0"
        assert ours[1]["note"] == f"'{start}SUM(1,2)"
    else:  # typed notes are stripped: a leading tab or CR never reaches the database
        assert first["note"] == "cmd|' /C calc'!A0" and ours[1]["note"] == "SUM(1,2)"
    for column, user in (
        ("owner", owner),
        ("signed_off_by", signer),
        ("reviewed_by", reviewer),
        ("checked_by", signer),
    ):
        assert first[column] == "'" + user.username, column


def test_it_exports_the_hyperlink_reason_as_text(runs, sre_client):
    """The finding: an N/A reason typed on the page came out of the export as a live link."""
    item = _sre_item(runs[Cadence.DAILY])
    reason = '=HYPERLINK("http://evil.example","click")'
    sre_client.post(reverse("checklists:not-applicable", args=[item.pk]), {"reason": reason})
    assert RunItem.objects.get(pk=item.pk).note == reason
    rows = _cells(sre_client.get(reverse("checklists:export")))
    (row,) = [r for r in rows if r["item"] == item.title and r["run"] == str(item.run_id)]
    assert row["note"] == "'" + reason
    assert all(not cell.startswith("=") for r in rows for cell in r.values())


# --- the history: paginated, counted, filters kept ------------------------------------------


@pytest.fixture
def many_runs(templates):
    """130 daily runs (the oldest 30 overdue and open, the rest complete) and 5 weekly ones."""
    now = timezone.now()
    start = date(2020, 1, 1)
    rows = [
        ChecklistRun(
            cadence=Cadence.DAILY,
            period_start=start + timedelta(days=i),
            period_end=start + timedelta(days=i),
            title="Daily",
            opened_at=now - timedelta(days=200 - i),
            due_at=now - timedelta(days=199 - i) if i < 30 else now + timedelta(days=1),
            status=RunStatus.OPEN if i < 30 else RunStatus.COMPLETE,
        )
        for i in range(130)
    ] + [
        ChecklistRun(
            cadence=Cadence.WEEKLY,
            period_start=start + timedelta(weeks=i),
            period_end=start + timedelta(weeks=i, days=6),
            title="Weekly",
            opened_at=now - timedelta(days=300 - i),
            due_at=now + timedelta(days=1),
        )
        for i in range(5)
    ]
    ChecklistRun.objects.bulk_create(rows)


def test_it_pages_the_history_with_counts(many_runs, sre_client, django_assert_num_queries):
    # The same queries for any page size: the page's keys, then its rows with their people
    # (and the navigation's two counts, of firing alerts and of runs to approve).
    with django_assert_num_queries(23):
        sre_client.get(reverse("checklists:index"), {"per_page": 100})
    with django_assert_num_queries(23):
        response = sre_client.get(reverse("checklists:index"), {"page": 2})
    page = response.content.decode()
    assert f"51{DASH}100 of 135" in page and "Page 2 of 3" in page
    assert page.count('data-testid="history-row"') == 50
    last = sre_client.get(reverse("checklists:index"), {"page": 3}).content.decode()
    assert f"101{DASH}135 of 135" in last and last.count('data-testid="history-row"') == 35
    assert 'rel="next"' not in last


def test_it_keeps_the_filters_in_every_page_link(many_runs, sre_client):
    query = {"cadence": "daily", "status": "complete", "per_page": 25, "page": 2}
    page = sre_client.get(reverse("checklists:index"), query).content.decode()
    assert f"26{DASH}50 of 100" in page and page.count('data-testid="history-row"') == 25
    assert 'href="?cadence=daily&amp;status=complete&amp;per_page=25&amp;page=3#history-title"' in (
        page
    )
    assert 'href="?cadence=daily&amp;status=complete&amp;per_page=25&amp;page=1#history-title"' in (
        page
    )
    assert '<option value="daily" selected>' in page and "<option selected>25</option>" in page


def test_it_shows_a_page_past_the_end_as_the_last_page(many_runs, sre_client):
    page = sre_client.get(reverse("checklists:index"), {"page": 99999}).content.decode()
    assert f"101{DASH}135 of 135" in page


def test_it_lists_ten_overdue_runs_and_links_to_all_of_them(many_runs, sre_client):
    page = sre_client.get(reverse("checklists:index")).content.decode()
    assert "30 runs past due" in page and 'data-testid="all-overdue"' in page
    overdue = page.split('data-testid="overdue"')[1].split("</section>")[0]
    assert overdue.count("<li>") == 10
    listed = sre_client.get(reverse("checklists:index"), {"status": "overdue"}).content.decode()
    assert f"1{DASH}30 of 30" in listed


def test_it_says_when_no_run_matches_the_filters(templates, sre_client):
    page = sre_client.get(reverse("checklists:index"), {"cadence": "quarterly"}).content.decode()
    assert "No runs match these filters." in page and "0 of 0" in page


def test_it_keeps_the_events_of_a_refused_post_unchanged(runs, sre_client):
    # A refused form writes no audit row: the run's events are what opening it wrote.
    run = runs[Cadence.DAILY]
    sre_client.post(reverse("checklists:add-note", args=[run.pk]), {"text": ""})
    assert list(RunEvent.objects.filter(run=run).values_list("kind", flat=True)) == [
        EventKind.OPENED
    ]
