"""Silences done right, against a real Alertmanager: the prefill still covers an alert that
turns critical; durations from presets or an end time, bounded; extended and edited through
Alertmanager's v2 API (in place, or replaced and the old one expired); and the history of
ended silences with who made and ended them and why."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from firing.models import SilenceAudit
from integrations import alertmanager
from integrations.alertmanager import Matcher
from tests import services
from tests.factories import make_firing_alert

LIST = "/alerts/silences"
NEW = "/alerts/silences/new"
HISTORY = "/alerts/silences/ended"


@pytest.fixture
def am(settings, alertmanager_server) -> Iterator[str]:
    settings.ALERTMANAGER_URL = alertmanager_server.url
    yield alertmanager_server.url
    for silence in alertmanager.list_silences():
        alertmanager.expire_silence(silence.id)


def _held(url: str, alertname: str) -> dict[str, dict]:
    """The alerts Alertmanager holds of ``alertname``, by severity."""
    with urllib.request.urlopen(f"{url}/api/v2/alerts") as response:
        return {
            a["labels"]["severity"]: a
            for a in json.load(response)
            if a["labels"]["alertname"] == alertname
        }


def _silence(url: str, silence_id: str) -> dict:
    with urllib.request.urlopen(f"{url}/api/v2/silence/{silence_id}") as response:
        return json.load(response)


def _prefilled(html: str) -> str:
    found = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S)
    assert found is not None
    return found.group(1).replace("&quot;", '"').strip()


def _created_id(response) -> str:
    assert response.status_code == 302, response.content.decode()
    return response["Location"].rsplit("#silence-", 1)[1]


def _make(client, matchers: str, *, duration: str = "4h", comment: str = "c", **more) -> str:
    data = {"matchers": matchers, "duration": duration, "comment": comment, **more}
    return _created_id(client.post(NEW, data))


# --- the prefill covers the alert whatever its severity ----------------------------------


@pytest.mark.services
@pytest.mark.django_db
def test_it_keeps_silencing_an_alert_prefilled_as_a_warning_after_it_turns_critical(sre_client, am):
    labels = {"alertname": "TurnsCritical", "tenant_tier": "enterprise", "service": "api"}
    services.post_alerts(am, [{"labels": {**labels, "severity": "warning"}}])
    warning = _held(am, "TurnsCritical")["warning"]
    alert = make_firing_alert(
        "TurnsCritical",
        fingerprint=warning["fingerprint"],
        labels={**labels, "severity": "warning"},
    )
    form = sre_client.get(NEW, {"alert": alert.pk}).content.decode()
    silence_id = _make(
        sre_client, _prefilled(form), comment="deploying the fix", alert=alert.pk, duration="1h"
    )
    assert _held(am, "TurnsCritical")["warning"]["status"]["silencedBy"] == [silence_id]

    # The breach deepens: Prometheus sends the critical twin of the same alert.
    services.post_alerts(am, [{"labels": {**labels, "severity": "critical"}}])

    critical = _held(am, "TurnsCritical")["critical"]
    assert critical["status"]["state"] == "suppressed"
    assert critical["status"]["silencedBy"] == [silence_id]


@pytest.mark.services
@pytest.mark.django_db
def test_it_adds_the_severity_only_when_asked(sre_client, am):
    labels = {"alertname": "OnlyWarning", "tenant_tier": "team", "service": "api"}
    services.post_alerts(am, [{"labels": {**labels, "severity": "warning"}}])
    warning = _held(am, "OnlyWarning")["warning"]
    alert = make_firing_alert(
        "OnlyWarning", fingerprint=warning["fingerprint"], labels={**labels, "severity": "warning"}
    )
    form = sre_client.get(NEW, {"alert": alert.pk}).content.decode()
    silence_id = _make(sre_client, _prefilled(form), alert=alert.pk, match_severity="on")
    made = _silence(am, silence_id)
    assert {"name": "severity", "value": "warning", "isRegex": False, "isEqual": True} in (
        made["matchers"]
    )
    services.post_alerts(am, [{"labels": {**labels, "severity": "critical"}}])
    held = _held(am, "OnlyWarning")
    assert held["warning"]["status"]["silencedBy"] == [silence_id]
    assert held["critical"]["status"]["silencedBy"] == []


# --- durations --------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db
@pytest.mark.parametrize("preset, length", [("30m", 30), ("2h", 120), ("8h", 480)])
def test_it_offers_duration_presets(sre_client, am, preset, length):
    before = datetime.now(UTC)
    silence_id = _make(sre_client, 'alertname="Preset"', duration=preset)
    after = datetime.now(UTC)
    ends = datetime.fromisoformat(_silence(am, silence_id)["endsAt"])
    slack = timedelta(seconds=1)
    assert before - slack <= ends - timedelta(minutes=length) <= after + slack


@pytest.mark.services
@pytest.mark.django_db
def test_it_ends_a_silence_at_the_time_given(sre_client, am):
    end = timezone.localtime(timezone.now() + timedelta(hours=3)).replace(second=0, microsecond=0)
    silence_id = _make(
        sre_client, 'alertname="Until"', duration="until", ends_at=end.strftime("%Y-%m-%dT%H:%M")
    )
    assert datetime.fromisoformat(_silence(am, silence_id)["endsAt"]) == end


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, problem",
    [
        ({"duration": "until"}, "Give the time the silence ends."),
        ({"duration": "until", "ends_at": "tomorrow"}, "Give the end as a date and time"),
        ({"duration": "until", "ends_at": "2020-01-01T10:00"}, "at least a minute from now"),
        ({"duration": "until", "ends_at": "+15d"}, "At most 14 days from now (until "),
        ({"duration": "1h", "ends_at": "+3h"}, "Tick “Until a time”"),
        ({"duration": "3h"}, "not one of the available choices"),
    ],
)
def test_it_refuses_a_bad_end_saying_why(sre_client, settings, data, problem):
    settings.ALERTMANAGER_URL = f"http://127.0.0.1:{services.free_port()}"
    if data.get("ends_at", "").startswith("+"):
        days = 15 if data["ends_at"] == "+15d" else 0
        hours = 3 if data["ends_at"] == "+3h" else 0
        end = timezone.localtime(timezone.now() + timedelta(days=days, hours=hours))
        data = {**data, "ends_at": end.strftime("%Y-%m-%dT%H:%M")}
    response = sre_client.post(NEW, {"matchers": 'a="x"', "comment": "c", **data})
    assert response.status_code == 400  # refused before Alertmanager is asked (it is down)
    assert problem in response.content.decode()


@pytest.mark.django_db
def test_it_shows_the_presets_and_the_end_time_field_without_inline_script(sre_client):
    html = sre_client.get(NEW).content.decode()
    for value in ("30m", "1h", "2h", "4h", "8h", "24h", "custom", "until"):
        assert f'name="duration" value="{value}"' in html
    assert 'type="datetime-local" name="ends_at"' in html
    assert "oninput" not in html and "onchange" not in html
    assert "js/firing-silence-form.js" in html


# --- extend and edit --------------------------------------------------------------------


def _active_for(url: str, alertname: str) -> list[dict]:
    return [
        s
        for s in alertmanager_silences(url)
        if s["status"]["state"] == "active" and any(m["value"] == alertname for m in s["matchers"])
    ]


def alertmanager_silences(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/api/v2/silences") as response:
        return json.load(response)


@pytest.mark.services
@pytest.mark.django_db
def test_it_extends_a_silence_and_records_who(sre, sre2_client, sre_client, am):
    silence_id = _make(sre_client, 'alertname="Extended"', duration="1h", comment="INC-7")
    ends = datetime.fromisoformat(_silence(am, silence_id)["endsAt"])

    response = sre2_client.post(f"/alerts/silences/{silence_id}/extend", {"by": "4h"})
    assert response.status_code == 302
    [now_active] = _active_for(am, "Extended")
    assert datetime.fromisoformat(now_active["endsAt"]) - ends == timedelta(hours=4)
    assert now_active["comment"] == "INC-7"
    assert now_active["createdBy"] == "sre"  # its author stays; the audit says who extended
    assert response["Location"] == f"{LIST}#silence-{now_active['id']}"
    audit = SilenceAudit.objects.get(action="extended")
    assert (audit.actor.username, audit.silence_id) == ("sre2", now_active["id"])
    if now_active["id"] != silence_id:
        # Alertmanager replaced it: the old one is expired and the audit links the two.
        assert _silence(am, silence_id)["status"]["state"] == "expired"
        assert audit.previous_id == silence_id
    else:
        assert audit.previous_id == ""


@pytest.mark.services
@pytest.mark.django_db
def test_it_refuses_to_extend_past_the_limit_or_by_an_unknown_length(sre_client, am):
    silence_id = _make(
        sre_client, 'alertname="TooLong"', duration="custom", custom_duration="13d12h"
    )
    response = sre_client.post(f"/alerts/silences/{silence_id}/extend", {"by": "24h"}, follow=True)
    assert "would end more than 14 days from now" in response.content.decode()
    response = sre_client.post(f"/alerts/silences/{silence_id}/extend", {"by": "9y"}, follow=True)
    assert "by: Select a valid choice" in response.content.decode()
    assert not SilenceAudit.objects.filter(action="extended").exists()
    [still] = _active_for(am, "TooLong")
    assert still["id"] == silence_id


@pytest.mark.services
@pytest.mark.django_db
def test_it_edits_the_end_and_comment_of_a_silence(sre_client, am):
    silence_id = _make(sre_client, 'alertname="EditMe"\ntenant_tier="team"', comment="first")
    form = sre_client.get(f"/alerts/silences/{silence_id}/edit").content.decode()
    assert _prefilled(form).splitlines() == ['alertname="EditMe"', 'tenant_tier="team"']
    assert re.search(r'<input type="radio" name="duration" value="until"[^>]* checked>', form)
    assert re.search(r">\s*first</textarea>", form)

    end = timezone.localtime(timezone.now() + timedelta(hours=6)).replace(second=0, microsecond=0)
    response = sre_client.post(
        f"/alerts/silences/{silence_id}/edit",
        {
            "matchers": 'alertname="EditMe"\ntenant_tier="team"',
            "duration": "until",
            "ends_at": end.strftime("%Y-%m-%dT%H:%M"),
            "comment": "second: the fix needs a migration",
        },
    )
    assert response.status_code == 302
    [edited] = _active_for(am, "EditMe")
    assert datetime.fromisoformat(edited["endsAt"]) == end
    assert edited["comment"] == "second: the fix needs a migration"
    audit = SilenceAudit.objects.get(action="edited")
    assert audit.silence_id == edited["id"]
    assert audit.previous_id == ("" if edited["id"] == silence_id else silence_id)


@pytest.mark.services
@pytest.mark.django_db
def test_it_replaces_a_silence_whose_matchers_change_and_expires_the_old(sre_client, am):
    silence_id = _make(sre_client, 'alertname="Widened"\npod="backend-1"', comment="one pod")
    response = sre_client.post(
        f"/alerts/silences/{silence_id}/edit",
        {"matchers": 'alertname="Widened"', "duration": "2h", "comment": "every pod"},
    )
    assert response.status_code == 302
    [replacement] = _active_for(am, "Widened")
    assert replacement["id"] != silence_id
    assert [m["name"] for m in replacement["matchers"]] == ["alertname"]
    assert _silence(am, silence_id)["status"]["state"] == "expired"
    audit = SilenceAudit.objects.get(action="edited")
    assert (audit.silence_id, audit.previous_id) == (replacement["id"], silence_id)
    assert audit.matchers == ['alertname="Widened"']
    follow = sre_client.get(response["Location"]).content.decode()
    assert "Alertmanager replaced it with a new silence" in follow

    # The old one cannot be edited again: that would make a second copy.
    again = sre_client.post(
        f"/alerts/silences/{silence_id}/edit",
        {"matchers": 'alertname="Widened"', "duration": "1h", "comment": "again"},
    )
    assert again.status_code == 409
    assert 'data-testid="silence-ended"' in again.content.decode()
    assert len(_active_for(am, "Widened")) == 1


@pytest.mark.services
@pytest.mark.django_db
def test_it_answers_404_for_a_silence_alertmanager_does_not_know(sre_client, am):
    assert sre_client.get(f"/alerts/silences/{uuid.uuid4()}/edit").status_code == 404


# --- the history ------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db
def test_it_keeps_a_history_of_ended_silences_with_who_and_why(sre, sre2_client, sre_client, am):
    expired = _make(sre_client, 'alertname="HistExpired"', comment="maintenance window")
    sre2_client.post(f"/alerts/silences/{expired}/expire", {"reason": "maintenance done early"})
    widened = _make(sre_client, 'alertname="HistEdited"\npod="p"', comment="one pod")
    sre2_client.post(
        f"/alerts/silences/{widened}/edit",
        {"matchers": 'alertname="HistEdited"', "duration": "1h", "comment": "all pods"},
    )
    running = _make(sre_client, 'alertname="HistRunning"', comment="still on")
    # One Alertmanager has forgotten (past its retention): only the panel's audit has it.
    forgotten = str(uuid.uuid4())
    SilenceAudit.objects.create(
        silence_id=forgotten,
        action="created",
        actor=sre,
        matchers=['alertname="HistForgotten"'],
        comment="last week's migration",
        starts_at=timezone.now() - timedelta(days=7),
        ends_at=timezone.now() - timedelta(days=6),
        at=timezone.now() - timedelta(days=7),
    )
    # And one made with amtool, expired in Alertmanager: neither who nor why is known here.
    now = datetime.now(UTC)
    elsewhere = alertmanager.create_silence(
        [Matcher("alertname", "HistAmtool")],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="amtool-user",
        comment="from the command line",
    )
    alertmanager.expire_silence(elsewhere)

    html = sre_client.get(HISTORY).content.decode()

    def row(silence_id: str) -> str:
        return html.split(f'id="ended-{silence_id}"')[1].split("</tr>")[0]

    assert 'data-ending="expired"' in row(expired)
    assert "by <strong>sre2</strong>: “maintenance done early”" in row(expired)
    assert "<strong>sre</strong>: “maintenance window”" in row(expired)
    assert 'data-ending="replaced"' in row(widened)
    assert "Replaced</span> by an edit of <strong>sre2</strong>" in row(widened)
    assert 'data-ending="ran_out"' in row(forgotten)
    assert "last week&#x27;s migration" in row(forgotten)
    assert 'data-ending="unknown"' in row(elsewhere)
    assert "<strong>amtool-user</strong>: “from the command line”" in row(elsewhere)
    assert f'id="ended-{running}"' not in html
    # The latest to end first; the one Alertmanager forgot, last.
    assert html.index(f'id="ended-{forgotten}"') > html.index(f'id="ended-{expired}"')

    only = sre_client.get(HISTORY, {"person": "SRE2"}).content.decode()
    assert f'id="ended-{expired}"' in only and f'id="ended-{forgotten}"' not in only


@pytest.mark.django_db
def test_it_pages_the_history_from_the_audit_when_alertmanager_is_down(sre, sre_client, settings):
    settings.ALERTMANAGER_URL = f"http://127.0.0.1:{services.free_port()}"
    now = timezone.now()
    for i in range(23):
        SilenceAudit.objects.create(
            silence_id=f"00000000-0000-4000-8000-{i:012d}",
            action="created",
            actor=sre,
            matchers=[f'alertname="Paged{i}"'],
            comment=f"silence {i}",
            starts_at=now - timedelta(hours=30 - i),
            ends_at=now - timedelta(hours=25 - i),
            at=now - timedelta(hours=30 - i),
        )
    # One still running by the audit: not in the history.
    SilenceAudit.objects.create(
        silence_id="00000000-0000-4000-8000-999999999999",
        action="created",
        actor=sre,
        starts_at=now,
        ends_at=now + timedelta(hours=1),
    )
    page = sre_client.get(HISTORY, {"per_page": 10, "page": 3}).content.decode()
    assert "Alertmanager unreachable" in page
    assert "Showing 21\u201323 of 23 ended silences (page 3 of 3)" in page
    assert page.count('data-testid="ended-silence"') == 3
    assert "silence 0" in page and "999999999999" not in page  # the oldest end, last
    assert sre_client.get(HISTORY, {"per_page": 1000}).status_code == 400
    assert sre_client.get(HISTORY, {"person": "p" * 151}).status_code == 400


@pytest.mark.django_db
def test_it_keeps_business_staff_out_of_the_new_silence_pages(business_client):
    some = "00000000-0000-4000-8000-000000000000"
    assert business_client.get(HISTORY).status_code == 403
    assert business_client.get(f"/alerts/silences/{some}/edit").status_code == 403
    assert business_client.post(f"/alerts/silences/{some}/extend", {"by": "1h"}).status_code == 403


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"duration": "custom", "custom_duration": "9999999999999999999d"}, "custom_duration",
         "At most 14 days"),
        ({"duration": "custom", "custom_duration": "99999999999y"}, "custom_duration",
         "At most 14 days"),
        ({"duration": "until", "ends_at": "2026-12-02T10:00\x00"}, "ends_at",
         "Null characters are not allowed."),
    ],
)  # fmt: skip
def test_it_refuses_a_length_past_any_date_and_nul_in_the_end(data, field, message):
    from firing.forms import SilenceForm

    form = SilenceForm({"matchers": 'alertname="X"', "comment": "deploy", **data})
    assert not form.is_valid()
    assert any(message in error for error in form.errors[field])
