"""The home page carries the approvals: every SRE sees the runs awaiting their approval (asked
by someone else) with who asked, what, since when and a link; the requester sees what became
of their own requests (waiting, approved, refused with the reason, expired); business staff
see none of it; and the queries do not grow with the number of runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from runbooks.choices import RunStatus
from runbooks.models import ActionRun

pytestmark = pytest.mark.django_db


def make_run(user, status=RunStatus.AWAITING_APPROVAL, ago=timedelta(minutes=3), **fields):
    now = timezone.now()
    return ActionRun.objects.create(
        runbook_name="HighCPUUsage",
        action_label=fields.pop("label", "Scale leanvibe-backend to 6 replicas"),
        kind="k8s_scale",
        parameters={"replicas": 6},
        status=status,
        requested_by=user,
        requested_at=now - ago,
        approval_expires_at=now - ago + timedelta(hours=1),
        **fields,
    )


def section(client) -> str:
    page = client.get("/").content.decode()
    start = page.find('data-testid="home-approvals"')
    assert start != -1, "no approvals section"
    return page[start : page.index("</section>", start)]


def test_it_lists_runs_awaiting_this_users_approval_with_who_what_since_and_a_link(
    sre, sre2, sre_client, sre2_client
):
    run = make_run(sre)
    seen = section(sre2_client)
    assert "Waiting for your approval: 1 run" in seen
    assert f'href="/runbooks/runs/{run.pk}"' in seen
    assert "Scale leanvibe-backend to 6 replicas" in seen and "HighCPUUsage" in seen
    assert "asked by <strong>sre</strong>" in seen and "3 min ago" in seen
    assert "expires in 57 min" in seen
    assert "0 minutes" not in seen
    # The requester's own run is not theirs to approve: it is among their requests instead.
    own = section(sre_client)
    assert 'data-testid="awaiting-yours"' not in own and "Nothing waits for your approval" in own
    assert 'data-testid="my-request"' in own and "waiting for a second SRE since 3 min ago" in own


def test_it_shows_the_requester_what_became_of_their_requests(sre, sre2, sre_client):
    now = timezone.now()
    make_run(
        sre,
        RunStatus.SUCCEEDED,
        label="Approved one",
        approved_by=sre2,
        approved_at=now - timedelta(seconds=20),
        finished_at=now,
    )
    make_run(
        sre,
        RunStatus.REFUSED,
        label="Refused one",
        refused_by=sre2,
        refusal_reason="Not during the peak.",
        finished_at=now - timedelta(minutes=2),
    )
    make_run(sre, RunStatus.EXPIRED, label="Expired one", finished_at=now - timedelta(minutes=5))
    make_run(sre, RunStatus.SUCCEEDED, label="Read-only one", finished_at=now)  # never asked
    make_run(
        sre,
        RunStatus.REFUSED,
        label="Refused long ago",
        refused_by=sre2,
        refusal_reason="old",
        ago=timedelta(days=3),
        finished_at=now - timedelta(days=2),
    )
    mine = section(sre_client)
    assert "approved by <strong>sre2</strong> just now" in mine
    assert "refused by <strong>sre2</strong> 2 min ago" in mine and "Not during the peak." in mine
    assert "expired 5 min ago: nobody answered" in mine
    assert "Read-only one" not in mine and "Refused long ago" not in mine


def test_it_shows_business_staff_no_approvals(sre, business_client):
    make_run(sre)
    page = business_client.get("/").content.decode()
    assert 'data-testid="home-approvals"' not in page and "Scale leanvibe" not in page


def test_it_makes_the_section_a_live_region_the_navigation_links_to(sre, sre2, sre2_client):
    make_run(sre)
    page = sre2_client.get("/").content.decode()
    assert 'id="awaiting" data-live' in page


def test_it_reads_the_same_queries_for_one_run_or_many(sre, sre2, sre2_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert sre2_client.get("/").status_code == 200
        return len(queries)

    make_run(sre)
    make_run(sre2)
    one = count()
    for minutes in range(4, 30):
        make_run(sre, ago=timedelta(minutes=minutes))
        make_run(sre2, RunStatus.REFUSED, refused_by=sre, finished_at=timezone.now())
    # One more: the count of runs past the ten shown.
    assert count() == one + 1
    seen = section(sre2_client)
    assert "Waiting for your approval: 27 runs" in seen and "All 27 runs" in seen
    assert seen.count('data-testid="awaiting-run"') == 10
