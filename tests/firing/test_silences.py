"""Silences through Alertmanager's v2 API: matchers, the form prefilled from a firing alert,
a round trip against a real Alertmanager (created, listed, expired), the warnings on the
list, and failures told apart."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from firing.models import SilenceAudit
from integrations import alertmanager
from integrations.alertmanager import AlertmanagerError, Matcher
from tests import services
from tests.factories import make_firing_alert

LIST = "/alerts/silences"
NEW = "/alerts/silences/new"


@pytest.fixture
def am(settings, alertmanager_server) -> str:
    settings.ALERTMANAGER_URL = alertmanager_server.url
    return alertmanager_server.url


@pytest.fixture
def cleanup(am) -> Iterator[None]:
    """Expire whatever silences a test left in the shared Alertmanager."""
    yield
    for silence in alertmanager.list_silences():
        alertmanager.expire_silence(silence.id)


def _silences_in_alertmanager(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/api/v2/silences") as response:
        return json.load(response)


# --- matchers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, matcher",
    [
        ('alertname="HighLatency"', Matcher("alertname", "HighLatency")),
        ('  tier != "team" ', Matcher("tier", "team", is_equal=False)),
        ('pod=~"backend-.*"', Matcher("pod", "backend-.*", is_regex=True)),
        ('pod!~"a|b"', Matcher("pod", "a|b", is_regex=True, is_equal=False)),
        (r'summary="say \"hi\" \\ bye"', Matcher("summary", r'say "hi" \ bye')),
        ('empty=""', Matcher("empty", "")),
    ],
)
def test_it_reads_alertmanagers_matcher_syntax_and_writes_it_back(text, matcher):
    assert Matcher.parse(text) == matcher
    assert Matcher.parse(str(matcher)) == matcher


@pytest.mark.parametrize(
    "text", ["alertname=HighLatency", '="x"', '1abc="x"', 'a=="x"', 'pod=~"("', "", 'a="x" b="y"']
)
def test_it_refuses_what_is_not_a_matcher(text):
    with pytest.raises(ValueError):
        Matcher.parse(text)


def test_it_matches_labels_as_alertmanager_does():
    labels = {"alertname": "HighLatency", "pod": "backend-7f"}
    assert Matcher("pod", "backend-.*", is_regex=True).matches(labels)
    assert not Matcher("pod", "backend", is_regex=True).matches(labels)  # anchored
    assert Matcher("tier", "").matches(labels)  # a missing label is the empty string
    assert Matcher("tier", "team", is_equal=False).matches(labels)


# --- the form ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_prefills_the_matchers_from_the_firing_alert_whatever_its_severity(sre_client):
    alert = make_firing_alert(labels={"instance": "node-1", "job": "api"})
    html = sre_client.get(f"{NEW}?alert={alert.pk}").content.decode()
    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S)
    assert textarea is not None
    # No severity: the silence holds when a warning turns critical (or back).
    assert textarea.group(1).strip().splitlines() == [
        "alertname=&quot;LeanVibeHighResponseTime&quot;",
        "tenant_tier=&quot;enterprise&quot;",
        "instance=&quot;node-1&quot;",
        "job=&quot;api&quot;",
        "service=&quot;leanvibe-backend&quot;",
    ]
    assert f'name="alert" value="{alert.pk}"' in html
    # Unless asked: a box to tick, saying what it costs.
    assert 'name="match_severity"' in html
    assert 'Only while it is <code>severity="critical"</code>' in html


@pytest.mark.django_db
def test_it_prefills_a_silence_for_every_instance_of_a_card(sre_client):
    alert = make_firing_alert(labels={"pod": "backend-7f", "instance": "10.0.0.1:80"})
    html = sre_client.get(NEW, {"alert": alert.pk, "instances": "all"}).content.decode()
    lines = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S).group(1).split()
    assert lines == [
        "alertname=&quot;LeanVibeHighResponseTime&quot;",
        "tenant_tier=&quot;enterprise&quot;",
        "service=&quot;leanvibe-backend&quot;",
    ]
    assert '<input type="hidden" name="instances" value="all">' in html
    assert sre_client.get(NEW, {"alert": alert.pk, "instances": "some"}).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, problem",
    [
        ({"matchers": 'alertname="X"', "duration": "1h", "comment": ""}, "This field is required"),
        ({"matchers": "alertname=X", "duration": "1h", "comment": "c"}, "is not a matcher"),
        ({"matchers": 'tier=~".*"', "duration": "1h", "comment": "c"}, "silence everything"),
        ({"matchers": 'a="x"', "duration": "custom", "comment": "c"}, "Give the duration"),
        (
            {"matchers": 'a="x"', "duration": "custom", "custom_duration": "soon", "comment": "c"},
            "is not a duration",
        ),
        (
            {"matchers": 'a="x"', "duration": "custom", "custom_duration": "30d", "comment": "c"},
            "At most 14 days",
        ),
        (
            {"matchers": 'a="x"', "duration": "1h", "custom_duration": "2h", "comment": "c"},
            "Tick “Custom”",
        ),
        (
            {"matchers": 'a="x"', "duration": "1h", "comment": "c" * 2001},
            "A comment is at most 2,000 characters (this one has 2001)",
        ),
        (
            {"matchers": 'a="x"\n' + "b" * 10_000, "duration": "1h", "comment": "c"},
            "The matchers text is at most 10,000 characters (this one has 10006)",
        ),
        (
            {
                "matchers": "\n".join(f'l{i}="x"' for i in range(101)),
                "duration": "1h",
                "comment": "c",
            },
            "At most 100 matchers (there are 101)",
        ),
    ],
)
def test_it_refuses_a_bad_silence_and_creates_nothing(sre_client, am, data, problem):
    before = len(_silences_in_alertmanager(am))
    response = sre_client.post(NEW, data)
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert len(_silences_in_alertmanager(am)) == before


@pytest.mark.django_db
def test_it_shows_the_length_limits_beside_the_free_text_fields(sre_client):
    html = sre_client.get(NEW).content.decode()
    matchers = html.split('id="id_matchers"')[1].split("</p>")[0]
    assert "At most 100 lines and 10,000 characters." in matchers
    assert 'maxlength="10000"' in html
    comment = html.split('id="id_comment"')[1].split("</p>")[0]
    assert "At most 2,000 characters." in comment
    assert 'maxlength="2000"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("alert", ["9" * 30, "²", "-1", "0", "x"])
def test_it_refuses_a_bad_alert_to_silence_with_400(sre_client, alert):
    # A digit Python cannot read as a number, or one too big for the database, was a 500.
    for response in (
        sre_client.get(NEW, {"alert": alert}),
        sre_client.post(NEW, {"alert": alert, "matchers": 'a="x"', "duration": "1h"}),
    ):
        assert response.status_code == 400
        assert "<li>alert: " in response.content.decode()


# --- against a real Alertmanager --------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db
def test_it_creates_lists_and_expires_a_silence_from_a_firing_alert(sre_client, am, cleanup):
    alert = make_firing_alert("SilenceRoundTrip", labels={"tenant_tier": "team"})
    services.post_alerts(am, [{"labels": alert.labels}])
    form = sre_client.get(f"{NEW}?alert={alert.pk}").content.decode()
    matchers = re.search(r"<textarea[^>]*>(.*?)</textarea>", form, re.S).group(1)
    matchers = matchers.replace("&quot;", '"').strip()

    started = datetime.now(UTC)
    response = sre_client.post(
        NEW,
        {
            "alert": alert.pk,
            "matchers": matchers,
            "duration": "4h",
            "comment": "rolling back release 1.42",
        },
    )
    assert response.status_code == 302, response.content.decode()
    # The view reads the clock between these two: a slow POST under load needs no slack.
    finished = datetime.now(UTC)

    [made] = [s for s in _silences_in_alertmanager(am) if s["status"]["state"] == "active"]
    assert made["createdBy"] == "sre"
    assert made["comment"] == "rolling back release 1.42"
    assert {(m["name"], m["value"]) for m in made["matchers"]} == {
        ("alertname", "SilenceRoundTrip"),
        ("tenant_tier", "team"),
        ("service", "leanvibe-backend"),
    }
    ends = datetime.fromisoformat(made["endsAt"])
    slack = timedelta(seconds=1)  # Alertmanager's rounding of the timestamps
    assert started - slack <= ends - timedelta(hours=4) <= finished + slack
    assert response["Location"] == f"{LIST}#silence-{made['id']}"

    html = sre_client.get(LIST).content.decode()
    row = html.split(f'id="silence-{made["id"]}"')[1].split("</tr>")[0]
    assert "rolling back release 1.42" in row
    assert "<td>sre</td>" in row
    assert 'data-testid="matches-nothing"' not in row
    assert 'data-testid="expires-soon"' not in row

    response = sre_client.post(f"/alerts/silences/{made['id']}/expire")
    assert response.status_code == 302
    [after] = [s for s in _silences_in_alertmanager(am) if s["id"] == made["id"]]
    assert after["status"]["state"] == "expired"
    assert made["id"] not in sre_client.get(LIST).content.decode()

    # Both actions are audited with who did them; the creation with what and why.
    created, expired = SilenceAudit.objects.filter(silence_id=made["id"]).order_by("pk")
    assert (created.action, created.actor.username, created.alert) == ("created", "sre", alert)
    assert created.comment == "rolling back release 1.42"
    assert 'alertname="SilenceRoundTrip"' in created.matchers
    assert (expired.action, expired.actor.username) == ("expired", "sre")


@pytest.mark.services
@pytest.mark.django_db
def test_it_warns_of_silences_that_mute_nothing_and_that_end_soon_for_their_length(
    sre_client, am, cleanup
):
    services.post_alerts(am, [{"labels": {"alertname": "WarnTest", "severity": "warning"}}])
    now = datetime.now(UTC)
    typo = alertmanager.create_silence(
        [Matcher("alertname", "WarnTset")],
        starts_at=now,
        ends_at=now + timedelta(hours=3),
        created_by="sre",
        comment="typo in the name",
    )
    # A new one-hour silence is not "ending soon"; one in its last five minutes is.
    new_hour = alertmanager.create_silence(
        [Matcher("alertname", "WarnTest")],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="sre",
        comment="just made",
    )
    ending = alertmanager.create_silence(
        [Matcher("alertname", "WarnTest")],
        starts_at=now,
        ends_at=now + timedelta(minutes=4),
        created_by="sre2",
        comment="almost over",
    )
    html = sre_client.get(LIST).content.decode()

    def row(silence_id: str) -> str:
        return html.split(f'id="silence-{silence_id}"')[1].split("</tr>")[0]

    assert "Matches no current alert" in row(typo)
    assert 'data-testid="expires-soon"' not in row(typo)
    assert 'data-testid="expires-soon"' not in row(new_hour)
    assert "Ends soon" in row(ending)
    assert "1 alert: WarnTest" in row(ending)
    assert html.index(ending) < html.index(new_hour) < html.index(typo)  # soonest end first


@pytest.mark.parametrize(
    "length, left, soon",
    [
        (timedelta(hours=1), timedelta(minutes=59), False),
        (timedelta(hours=1), timedelta(minutes=6, seconds=1), False),
        (timedelta(hours=1), timedelta(minutes=6), True),  # its last tenth
        (timedelta(minutes=20), timedelta(minutes=6), False),
        (timedelta(minutes=20), timedelta(minutes=5), True),  # never less than 5 minutes
        (timedelta(days=14), timedelta(days=1, hours=9), True),
        (timedelta(days=14), timedelta(days=2), False),
    ],
)
def test_it_says_a_silence_ends_soon_relative_to_its_own_length(length, left, soon):
    from firing.firing_list import ends_soon
    from integrations.alertmanager import Silence

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    ends = now + left
    silence = Silence("s", (), ends - length, ends, "active", "sre", "")
    assert ends_soon(silence, now) is soon


@pytest.mark.services
@pytest.mark.django_db
def test_it_says_so_when_the_silence_to_expire_is_unknown(sre_client, am):
    response = sre_client.post(
        "/alerts/silences/00000000-0000-4000-8000-000000000000/expire", follow=True
    )
    assert "No such silence in Alertmanager" in response.content.decode()


@pytest.mark.django_db
def test_it_says_alertmanager_is_unreachable_and_keeps_the_form(sre_client, settings):
    settings.ALERTMANAGER_URL = f"http://127.0.0.1:{services.free_port()}"
    html = sre_client.get(LIST).content.decode()
    assert "Alertmanager unreachable" in html and "connection refused" in html

    data = {"matchers": 'alertname="X"', "duration": "1h", "comment": "keep me"}
    response = sre_client.post(NEW, data)
    assert response.status_code == 503
    html = response.content.decode()
    assert "Alertmanager unreachable" in html and "The silence was not created" in html
    assert "keep me" in html


def test_it_tells_a_timeout_from_an_unreachable_alertmanager():
    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(AlertmanagerError) as caught:
            alertmanager.list_alerts(url=url, timeout=0.3)
    assert caught.value.kind == AlertmanagerError.TIMEOUT
    assert caught.value.is_down
    with pytest.raises(AlertmanagerError) as caught:
        alertmanager.list_alerts(url=f"http://127.0.0.1:{services.free_port()}")
    assert caught.value.kind == AlertmanagerError.UNREACHABLE
    assert "connection refused" in str(caught.value)


@pytest.mark.services
def test_it_reports_what_alertmanager_refuses(alertmanager_server):
    now = datetime.now(UTC)
    with pytest.raises(AlertmanagerError) as caught:
        alertmanager.create_silence(
            [Matcher("alertname", "X")],
            starts_at=now,
            ends_at=now - timedelta(hours=1),  # ends before it starts
            created_by="sre",
            comment="backwards",
            url=alertmanager_server.url,
        )
    assert caught.value.kind == AlertmanagerError.REJECTED
    assert caught.value.status == 400


@pytest.mark.django_db
def test_it_keeps_business_staff_out(business_client):
    assert business_client.get(LIST).status_code == 403
    assert business_client.get(NEW).status_code == 403
    data = {"matchers": 'alertname="X"', "duration": "1h", "comment": "c"}
    assert business_client.post(NEW, data).status_code == 403
    expire = "/alerts/silences/00000000-0000-4000-8000-000000000000/expire"
    assert business_client.post(expire).status_code == 403
