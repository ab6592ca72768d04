"""The incident pages: the list (filtered, paged, newest first, a live region), the timeline
page with its forms outside the live regions, the writes, and the Markdown export."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from core.choices import State
from incidents import actions
from incidents.choices import EventKind, IncidentStatus
from incidents.models import Incident
from tests.incidents.conftest import T0, change

pytestmark = pytest.mark.django_db


def _incidents(count: int, **fields) -> list[Incident]:
    now = timezone.now()
    return [
        Incident.objects.create(
            title=f"incident {n}", started_at=now, opened_at=now - timedelta(minutes=n), **fields
        )
        for n in range(count)
    ]


def _region(html: str, region_id: str) -> str:
    """The markup of a live region (up to the end of the element that opens it, for the
    ``<div>`` regions these pages use)."""
    start = html.index(f'id="{region_id}"')
    depth, pos = 1, html.index(">", start) + 1
    for match in re.finditer(r"<(/?)div\b", html[pos:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return html[start : pos + match.start()]
    raise AssertionError(f"{region_id} is not closed")


def test_it_lists_incidents_newest_first_as_a_live_region(sre_client, playbook):
    _incidents(3)
    html = sre_client.get("/incidents/").content.decode()
    titles = re.findall(r"#\d+ (incident \d)", html)
    assert titles == ["incident 0", "incident 1", "incident 2"]
    assert 'id="incident-list" class="card" data-live' in html
    assert 'data-live-url="/incidents/"' in html
    assert "<form" not in _region(html, "incident-list")


def test_it_filters_open_and_closed_in_the_url(sre_client, playbook):
    _incidents(2)
    _incidents(1, status=IncidentStatus.CLOSED, closed_at=timezone.now())
    opened = sre_client.get("/incidents/?status=open").content.decode()
    closed = sre_client.get("/incidents/?status=closed").content.decode()
    assert opened.count('data-testid="incident-row"') == 2
    assert closed.count('data-testid="incident-row"') == 1
    assert 'data-live-url="/incidents/?status=closed"' in closed
    refused = sre_client.get("/incidents/?status=everything")
    assert refused.status_code == 400
    assert "Status is open, closed or empty" in refused.content.decode()


def test_it_pages_the_list_in_a_fixed_number_of_queries(
    sre_client, playbook, django_assert_num_queries
):
    _incidents(30)
    # session, user, the user's and the groups' permissions, the count (the pager's), the
    # page's keys, its rows with who opened and closed them and their check counts, their
    # alerts, the two heartbeats of the self-monitoring banner and the navigation's two
    # counts: none per incident, and any page reads the same.
    with django_assert_num_queries(13):
        sre_client.get("/incidents/?per_page=25")
    _incidents(60)
    with django_assert_num_queries(13):
        page = sre_client.get("/incidents/?per_page=25&page=3").content.decode()
    assert "51\u201375 of 90" in page  # an en dash between the bounds


def test_it_refuses_business_staff(business_client, playbook):
    incident = _incidents(1)[0]
    for url in ("/incidents/", f"/incidents/{incident.pk}", f"/incidents/{incident.pk}.md"):
        assert business_client.get(url).status_code == 403
    for url in (
        "/incidents/open",
        f"/incidents/{incident.pk}/notes",
        f"/incidents/{incident.pk}/close",
    ):
        assert (
            business_client.post(url, {"text": "x", "summary": "x", "title": "x"}).status_code
            == 403
        )


def test_it_answers_404_for_an_unknown_incident(sre_client, playbook):
    assert sre_client.get("/incidents/999").status_code == 404
    assert sre_client.get("/incidents/999.md").status_code == 404


@pytest.fixture
def breached(enterprise) -> Incident:
    actions.record_changes([change(enterprise, State.CRITICAL, T0)], now=T0)
    return Incident.objects.get()


def test_it_shows_the_timeline_and_durations_with_forms_outside_the_live_regions(
    sre_client, breached
):
    html = sre_client.get(f"/incidents/{breached.pk}").content.decode()
    timeline = _region(html, "timeline")
    assert "OK → Critical" in timeline
    assert "data-live" in html[html.index('id="timeline"') - 40 : html.index('id="timeline"') + 40]
    assert "<form" not in timeline
    assert "<form" not in _region(html, "incident-summary")
    assert 'data-live-url="/incidents/' in html
    for name in ("Time to detect", "Time to acknowledge", "Time to mitigate", "Time to resolve"):
        assert name in html
    assert "Up to 4,000 characters." in html  # the note's bound, beside its field


def test_it_adds_a_note_and_refuses_a_nul_or_a_long_one(sre_client, breached):
    url = f"/incidents/{breached.pk}/notes"
    assert sre_client.post(url, {"text": "bad\x00note"}).status_code == 400
    long = sre_client.post(url, {"text": "x" * 4001})
    assert long.status_code == 400
    assert "at most 4,000 characters" in long.content.decode()
    assert "x" * 4001 in long.content.decode()  # what was typed comes back
    # the refused form's page refreshes from the incident's address, not the POST's
    assert f'data-live-url="/incidents/{breached.pk}"' in long.content.decode()
    assert sre_client.post(url, {"text": "Scaling to 6"}).status_code == 302
    note = breached.events.get(kind=EventKind.NOTE)
    assert note.text == "Scaling to 6" and note.actor.username == "sre"
    assert "Scaling to 6" in _region(
        sre_client.get(f"/incidents/{breached.pk}").content.decode(), "timeline"
    )


def test_it_closes_only_with_a_summary(sre_client, breached):
    url = f"/incidents/{breached.pk}/close"
    refused = sre_client.post(url, {"summary": "  "})
    assert refused.status_code == 400
    assert "Say in the summary what happened" in refused.content.decode()
    assert sre_client.post(url, {"summary": "Scaled to 6."}).status_code == 302
    breached.refresh_from_db()
    assert breached.status == IncidentStatus.CLOSED and breached.summary == "Scaled to 6."
    again = sre_client.post(url, {"summary": "again"}, follow=True)
    assert "already closed" in again.content.decode()


def test_it_opens_an_incident_by_hand(sre_client, playbook):
    response = sre_client.post(
        "/incidents/open",
        {"title": "Customers report errors", "alert": "LeanVibeHighErrorRate", "note": "Acme"},
    )
    incident = Incident.objects.get()
    assert response["Location"] == f"/incidents/{incident.pk}"
    assert incident.opened_by.username == "sre"
    assert list(incident.alerts.values_list("name", flat=True)) == ["LeanVibeHighErrorRate"]
    refused = sre_client.post("/incidents/open", {"title": ""}, follow=True)
    assert "Title is required" in refused.content.decode()


def test_it_exports_markdown_with_the_durations_and_escaped_text(sre_client, breached):
    actions.add_note(
        breached,
        "# not a heading *nor bold* [x](http://evil)\n- nor a list",
        actor=breached_user(sre_client),
    )
    response = sre_client.get(f"/incidents/{breached.pk}.md")
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="incident-{breached.pk}.md"'
    text = response.content.decode()
    assert text.startswith(f"# Incident {breached.pk}: LeanVibeHighResponseTime")
    for name in ("Time to detect", "Time to acknowledge", "Time to mitigate", "Time to resolve"):
        assert f"| {name} |" in text
    assert r"\# not a heading \*nor bold\* \[x\]\(http://evil\)" in text
    assert "\n  \\- nor a list" in text
    assert "OK → Critical" in text


def breached_user(client):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=client.session["_auth_user_id"])
