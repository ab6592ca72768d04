"""The firing-alerts page: grouped, aged, linked to runbooks, silence status from a real
Alertmanager (and said to be unknown when it is unreachable), acknowledged with a comment;
and what resolved lately."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from firing.models import FiringAlert
from integrations import alertmanager
from integrations.alertmanager import Matcher
from tests import services
from tests.factories import make_firing_alert

URL = "/alerts/"


@pytest.fixture
def unreachable_alertmanager(settings) -> str:
    settings.ALERTMANAGER_URL = f"http://127.0.0.1:{services.free_port()}"
    return settings.ALERTMANAGER_URL


def _blocks(html: str, testid: str) -> list[str]:
    """The HTML of each element with this data-testid, up to the next one."""
    parts = re.split(rf'(?=<[a-z]+ [^>]*data-testid="{testid}")', html)
    return [p for p in parts[1:]]


@pytest.mark.django_db
def test_it_groups_firing_alerts_by_name_severity_and_tier_critical_first(
    sre_client, unreachable_alertmanager
):
    now = timezone.now()
    make_firing_alert(
        "LeanVibeHighErrorRate",
        labels={"severity": "warning", "tenant_tier": "team"},
        starts_at=now - timedelta(minutes=5),
    )
    make_firing_alert(
        "LeanVibeHighResponseTime",
        labels={"instance": "a"},
        starts_at=now - timedelta(minutes=30),
    )
    make_firing_alert(
        "LeanVibeHighResponseTime",
        labels={"instance": "b"},
        starts_at=now - timedelta(minutes=20),
    )
    make_firing_alert(
        "LeanVibeHighResponseTime",
        labels={"tenant_tier": "team"},
        starts_at=now - timedelta(minutes=40),
    )

    html = sre_client.get(URL).content.decode()

    groups = re.findall(
        r'data-testid="alert-group" data-alertname="(\w+)" data-severity="(\w+)" '
        r'data-tier="(\w+)"',
        html,
    )
    assert groups == [
        ("LeanVibeHighResponseTime", "critical", "enterprise"),
        ("LeanVibeHighResponseTime", "critical", "team"),
        ("LeanVibeHighErrorRate", "warning", "team"),
    ]
    # Critical first, then the group that fired most recently first (the default order).
    first = _blocks(html, "alert-group")[0]
    # The same alert on two instances is one card listing both.
    assert first.count('data-testid="firing-alert"') == 1
    assert first.count('data-testid="instance"') == 2
    assert 'instance="a"' in first and 'instance="b"' in first
    # The state is in words, not colour alone.
    assert ">critical</span>" in first


@pytest.mark.django_db
def test_it_shows_age_summary_description_and_the_runbook(sre_client, unreachable_alertmanager):
    make_firing_alert(
        "LeanVibeHighResponseTime",
        starts_at=timezone.now() - timedelta(hours=2, minutes=5),
        annotations={"summary": "p95 above 2 s", "description": "Enterprise p95 is 2.4 s"},
    )
    make_firing_alert(
        "Neo4jSlowQueries",
        annotations={"summary": "slow", "runbook_url": "https://runbooks.example/neo4j"},
    )
    make_firing_alert("RedisDown", annotations={"runbook_url": "javascript:alert(1)"})

    html = sre_client.get(URL).content.decode()

    assert "p95 above 2 s" in html and "Enterprise p95 is 2.4 s" in html
    assert '<strong data-testid="age">2 h 5 min</strong>' in html
    runbooks = re.findall(r'<a href="([^"]+)" data-testid="runbook">', html)
    assert sorted(runbooks) == [
        "/runbooks/LeanVibeHighResponseTime",
        "/runbooks/RedisDown",
        "https://runbooks.example/neo4j",
    ]
    assert "javascript:" not in html


@pytest.mark.django_db
def test_it_says_so_when_alertmanager_is_unreachable(sre_client, unreachable_alertmanager):
    make_firing_alert()
    response = sre_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Alertmanager unreachable" in html
    assert "connection refused" in html
    assert unreachable_alertmanager in html
    assert 'data-silence="unknown"' in html
    assert "Silence status unknown" in html


@pytest.mark.django_db
def test_it_says_nothing_is_firing_in_words(sre_client, unreachable_alertmanager):
    html = sre_client.get(URL).content.decode()
    assert 'data-testid="nothing-firing"' in html
    assert "Nothing firing" in html


@pytest.mark.services
@pytest.mark.django_db
def test_it_shows_silence_status_from_a_real_alertmanager(
    sre_client, settings, alertmanager_server
):
    settings.ALERTMANAGER_URL = alertmanager_server.url
    labels = {
        "alertname": "FiringPageSilenceTest",
        "severity": "warning",
        "tenant_tier": "professional",
    }
    services.post_alerts(
        alertmanager_server.url,
        [
            {"labels": labels},
            {"labels": {**labels, "tenant_tier": "team"}},
        ],
    )
    with urllib.request.urlopen(f"{alertmanager_server.url}/api/v2/alerts") as response:
        held = {
            a["labels"]["tenant_tier"]: a["fingerprint"]
            for a in json.load(response)
            if a["labels"]["alertname"] == "FiringPageSilenceTest"
        }
    silenced = make_firing_alert(
        "FiringPageSilenceTest", fingerprint=held["professional"], labels=labels
    )
    notifying = make_firing_alert(
        "FiringPageSilenceTest",
        fingerprint=held["team"],
        labels={**labels, "tenant_tier": "team"},
    )
    # Alertmanager does not hold this one: it leaves the firing list, resolved.
    gone = make_firing_alert("NoLongerInAlertmanager", fingerprint="0000000000000000")
    now = datetime.now(UTC)
    silence_id = alertmanager.create_silence(
        [Matcher("alertname", "FiringPageSilenceTest"), Matcher("tenant_tier", "professional")],
        starts_at=now,
        ends_at=now + timedelta(hours=4),
        created_by="sre2",
        comment="deploying the fix, INC-42",
    )
    try:
        html = sre_client.get(URL).content.decode()
    finally:
        alertmanager.expire_silence(silence_id)

    assert "Alertmanager unreachable" not in html
    rows = {m[0]: m[1] for m in re.findall(r'data-fingerprint="(\w+)" data-silence="(\w+)"', html)}
    assert rows == {
        silenced.fingerprint: "silenced",
        notifying.fingerprint: "not_silenced",
    }
    assert "by <strong>sre2</strong>, 3 h 59 min left" in html
    assert "“deploying the fix, INC-42”" in html
    resolved = html.split('data-testid="resolved"')[1]
    assert f'data-fingerprint="{gone.fingerprint}"' in resolved
    gone.refresh_from_db()
    assert (gone.status, gone.resolution) == ("resolved", "absent")


@pytest.mark.django_db
def test_it_acknowledges_an_alert_with_a_comment(sre, sre_client, unreachable_alertmanager):
    alert = make_firing_alert()
    response = sre_client.post(
        f"/alerts/{alert.pk}/acknowledge", {"comment": "scaling the backend to 6"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/alerts/#alert-{alert.pk}"
    alert.refresh_from_db()
    assert alert.acknowledged_by == sre
    assert alert.ack_comment == "scaling the backend to 6"
    assert alert.acknowledged_at is not None
    html = sre_client.get(URL).content.decode()
    assert "Acknowledged</span> by <strong>sre</strong>" in html
    assert "scaling the backend to 6" in html


@pytest.mark.django_db
def test_it_refuses_an_acknowledgement_without_a_comment(sre_client, unreachable_alertmanager):
    alert = make_firing_alert()
    response = sre_client.post(f"/alerts/{alert.pk}/acknowledge", {"comment": "  "})
    assert response.status_code == 400
    assert "A comment is needed" in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by is None


@pytest.mark.django_db
def test_it_refuses_an_acknowledgement_longer_than_its_limit_saying_the_limit(
    sre_client, unreachable_alertmanager
):
    alert = make_firing_alert()
    response = sre_client.post(f"/alerts/{alert.pk}/acknowledge", {"comment": "x" * 2001})
    assert response.status_code == 400
    page = response.content.decode()
    assert "A comment is at most 2,000 characters (this one has 2001): shorten it." in page
    assert "At most 2,000 characters." in page  # the help text beside the field
    assert 'maxlength="2000"' in page
    alert.refresh_from_db()
    assert alert.acknowledged_by is None
    assert not alert.acknowledgements.exists()
    ok = sre_client.post(f"/alerts/{alert.pk}/acknowledge", {"comment": "x" * 2000})
    assert ok.status_code == 302


@pytest.mark.django_db
def test_it_shows_the_comment_limit_beside_each_acknowledgement_field(
    sre_client, unreachable_alertmanager
):
    alert = make_firing_alert()
    page = sre_client.get(URL).content.decode()
    field = re.search(r'<input id="ack-\d+" name="comment"[^>]*>', page)
    assert field is not None
    assert 'maxlength="2000"' in field.group()
    assert "At most 2,000 characters." in field.group()  # its title: the help text
    # Said beside the field, which points at the words for screen readers.
    assert f'aria-describedby="ack-limit-{alert.pk}"' in field.group()
    beside = page.split(f'id="ack-limit-{alert.pk}">')[1].split("<")[0]
    assert beside == "A comment of at most 2,000 characters."


@pytest.mark.django_db
def test_it_keeps_the_acknowledgement_when_the_alert_is_delivered_again(
    sre, sre_client, client, settings
):
    from tests.firing.test_webhook import TOKEN, a_payload, deliver

    settings.ALERTMANAGER_WEBHOOK_TOKEN = TOKEN
    deliver(client, a_payload())
    alert = FiringAlert.objects.get()
    sre_client.post(f"/alerts/{alert.pk}/acknowledge", {"comment": "on it"})
    deliver(client, a_payload())
    alert.refresh_from_db()
    assert (alert.deliveries, alert.acknowledged_by, alert.ack_comment) == (2, sre, "on it")


@pytest.mark.django_db
def test_it_lets_a_second_sre_take_over(sre_client, sre2, sre2_client, unreachable_alertmanager):
    alert = make_firing_alert()
    sre_client.post(f"/alerts/{alert.pk}/acknowledge", {"comment": "on it"})
    sre2_client.post(f"/alerts/{alert.pk}/acknowledge", {"comment": "taking over at 18:00"})
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.ack_comment) == (sre2, "taking over at 18:00")
    # The first acknowledgement is kept, not overwritten, and the card shows it.
    history = [(a.actor.username, a.comment) for a in alert.acknowledgements.order_by("at", "pk")]
    assert history == [("sre", "on it"), ("sre2", "taking over at 18:00")]
    card = sre_client.get(URL).content.decode().split('data-testid="ack"')[1].split("</p>")[0]
    assert "sre2</strong>" in card
    assert "“on it”" in card


@pytest.mark.django_db
def test_it_keeps_business_staff_out(business_client):
    alert = make_firing_alert()
    assert business_client.get(URL).status_code == 403
    response = business_client.post(f"/alerts/{alert.pk}/acknowledge", {"comment": "x"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_by is None


@pytest.mark.django_db
def test_it_lists_what_resolved_in_the_last_day(sre_client, unreachable_alertmanager):
    now = timezone.now()
    make_firing_alert("ResolvedLately", status="resolved", ends_at=now - timedelta(hours=2))
    make_firing_alert("ResolvedLongAgo", status="resolved", ends_at=now - timedelta(days=3))
    make_firing_alert("StillFiring")
    html = sre_client.get(URL).content.decode()
    resolved = html.split('data-testid="resolved"')[1]
    assert "ResolvedLately" in resolved
    assert "ResolvedLongAgo" not in html
    assert "StillFiring" not in resolved


@pytest.mark.django_db
def test_it_reads_the_page_in_a_fixed_number_of_queries(
    sre, sre2, unreachable_alertmanager, django_assert_num_queries
):
    from django.test import Client

    client = Client()
    client.force_login(sre)
    for i in range(30):
        alert = make_firing_alert(f"Alert{i % 4}", labels={"instance": f"node-{i}"})
        if i % 3 == 0:
            alert.acknowledged_by, alert.acknowledged_at = sre2, timezone.now()
            alert.save()
    now = timezone.now()
    for i in range(10):
        make_firing_alert(f"Old{i}", status="resolved", ends_at=now, acknowledged_by=sre2)
    # session, user, the user's and the groups' permissions, the cards' sizes (the pager's
    # count), the page's instances, their acknowledgement histories, the count of resolved
    # ones (their pager), their page, the two heartbeats of the self-monitoring banner and
    # the navigation's two counts (firing alerts, approvals): none per alert. Alertmanager is
    # unreachable here, so nothing is reconciled; any page reads the same.
    with django_assert_num_queries(13):
        response = client.get(URL)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "seconds, words",
    [
        (0, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
        (86400, "1 d"),
        (97200, "1 d 3 h"),
        (-5, "0 s"),
    ],
)
def test_it_says_ages_the_way_people_on_call_do(seconds, words):
    from core.formatting import span

    assert span(timedelta(seconds=seconds)) == words
