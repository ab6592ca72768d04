"""The firing list as Alertmanager groups it: the same alert on many pods is one card with
its instances and one set of actions; the stated order is the real one; summaries are
Alertmanager's current ones; an alert Alertmanager no longer holds leaves the list,
resolved with the time; and a live refresh (the page fetched again with ``HX-Request``)
brings a new alert in and takes a resolved one out."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from firing import reconcile
from firing.firing_list import AlertmanagerNow
from firing.models import Acknowledgement, FiringAlert
from integrations.alertmanager import HeldAlert
from tests import services
from tests.factories import make_firing_alert

URL = "/alerts/"


@pytest.fixture
def unreachable_alertmanager(settings) -> str:
    settings.ALERTMANAGER_URL = f"http://127.0.0.1:{services.free_port()}"
    return settings.ALERTMANAGER_URL


@pytest.fixture
def am(settings, alertmanager_server) -> str:
    settings.ALERTMANAGER_URL = alertmanager_server.url
    return alertmanager_server.url


def _cards(html: str) -> list[str]:
    parts = re.split(r'(?=<div class="firing-alert" )', html.split('id="resolved-list"')[0])
    return parts[1:]


def _card_names(html: str) -> list[tuple[str, str]]:
    """(alert name, the first instance's shard label) of each card, in the page's order."""
    names = []
    for group in re.split(r'(?=<article class="card alert-group")', html)[1:]:
        name = re.search(r'data-alertname="(\w*)"', group).group(1)
        for card in _cards(group):
            shard = re.search(r'<code>shard="([\w-]+)"</code>', card)
            names.append((name, shard.group(1) if shard else ""))
    return names


def _held_fingerprints(url: str, alertname: str) -> dict[str, str]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts") as response:
        return {
            a["labels"].get("pod", a["labels"].get("shard", "")): a["fingerprint"]
            for a in json.load(response)
            if a["labels"]["alertname"] == alertname
        }


# --- cards ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_collapses_the_same_alert_on_many_pods_into_one_card_with_one_set_of_actions(
    sre_client, sre, unreachable_alertmanager
):
    now = timezone.now()
    pods = [
        make_firing_alert(
            "LeanVibeHighResponseTime",
            labels={"pod": f"backend-{i}", "instance": f"10.0.0.{i}:8000"},
            starts_at=now - timedelta(minutes=10 + i),
        )
        for i in range(3)
    ]
    # Another service is another problem: its own card in the same group.
    other = make_firing_alert(
        "LeanVibeHighResponseTime", labels={"service": "worker", "pod": "worker-0"}
    )

    html = sre_client.get(URL).content.decode()

    assert html.count('data-testid="alert-group"') == 1
    cards = _cards(html)
    assert len(cards) == 2
    [collapsed] = [c for c in cards if 'data-instances="3"' in c]
    assert collapsed.count('data-testid="instance"') == 3
    for i in range(3):
        assert f'<code>pod="backend-{i}"</code>' in collapsed
        assert f'<code>instance="10.0.0.{i}:8000"</code>' in collapsed
    # One set of actions for the three: one acknowledgement form, one silence, one runbook.
    assert collapsed.count('class="ack-form"') == 1
    assert collapsed.count('data-testid="runbook"') == 1
    assert "Acknowledge all 3" in collapsed
    silence = re.search(r'href="([^"]+)" data-testid="silence-link"', collapsed).group(1)
    assert silence.endswith("&amp;instances=all")
    assert "Firing on <strong" in collapsed and "3 instances" in collapsed
    assert re.search(r'data-testid="group-size">4 firing in 2 cards<', html)

    # Acknowledging the card acknowledges every instance of it, each with its own row.
    first = re.search(r'action="/alerts/(\d+)/acknowledge"', collapsed).group(1)
    response = sre_client.post(
        f"/alerts/{first}/acknowledge", {"comment": "scaling out", "scope": "card"}
    )
    assert response.status_code == 302
    for pod in pods:
        pod.refresh_from_db()
        assert (pod.acknowledged_by, pod.ack_comment) == (sre, "scaling out")
    assert Acknowledgement.objects.filter(alert__in=pods).count() == 3
    other.refresh_from_db()
    assert other.acknowledged_by is None
    html = sre_client.get(URL).content.decode()
    [collapsed] = [c for c in _cards(html) if 'data-instances="3"' in c]
    assert 'Acknowledged</span> <span class="muted">(all)</span> by <strong>sre</strong>' in (
        collapsed
    )


@pytest.mark.django_db
def test_it_lists_a_storms_first_instances_and_counts_the_rest(
    sre_client, unreachable_alertmanager
):
    for i in range(25):
        make_firing_alert("Storm", labels={"pod": f"backend-{i:02d}"})
    html = sre_client.get(URL).content.decode()
    [card] = _cards(html)
    assert card.count('data-testid="instance"') == 20
    assert '<li class="muted" data-testid="more-instances">and 5 more</li>' in card
    summary = re.search(r'data-testid="page-summary">([^<]*)<', html).group(1)
    assert summary == "Showing all 1 firing alerts, 25 with every instance"


@pytest.mark.django_db
def test_it_refuses_an_unknown_acknowledgement_scope(sre_client, unreachable_alertmanager):
    alert = make_firing_alert()
    response = sre_client.post(
        f"/alerts/{alert.pk}/acknowledge", {"comment": "x", "scope": "everything"}
    )
    assert response.status_code == 400
    alert.refresh_from_db()
    assert alert.acknowledged_by is None


# --- order ------------------------------------------------------------------------------


@pytest.fixture
def mixed(db) -> None:
    now = timezone.now()

    def fire(name: str, shard: str, minutes: int, severity: str = "critical") -> None:
        make_firing_alert(
            name,
            labels={"shard": shard, "severity": severity},
            starts_at=now - timedelta(minutes=minutes),
        )

    fire("Zeta", "z-old", 50)
    fire("Zeta", "z-new", 5)
    fire("Alpha", "a-mid", 30)
    fire("Warned", "w-newest", 1, severity="warning")
    fire("Warned", "w-oldest", 90, severity="warning")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "order, words, expected",
    [
        # The default: critical first, then the group that fired last first (not by name).
        (
            "",
            "critical first, then the newest first",
            [
                ("Zeta", "z-new"),
                ("Zeta", "z-old"),
                ("Alpha", "a-mid"),
                ("Warned", "w-newest"),
                ("Warned", "w-oldest"),
            ],
        ),
        (
            "newest",
            "the newest first",
            [
                ("Warned", "w-newest"),
                ("Warned", "w-oldest"),
                ("Zeta", "z-new"),
                ("Zeta", "z-old"),
                ("Alpha", "a-mid"),
            ],
        ),
        (
            "oldest",
            "the oldest first",
            [
                ("Warned", "w-oldest"),
                ("Warned", "w-newest"),
                ("Zeta", "z-old"),
                ("Zeta", "z-new"),
                ("Alpha", "a-mid"),
            ],
        ),
    ],
)
def test_it_lists_in_the_order_it_says(
    sre_client, unreachable_alertmanager, mixed, order, words, expected
):
    html = sre_client.get(URL, {"order": order} if order else {}).content.decode()
    assert _card_names(html) == expected
    said = re.search(r'data-testid="order">Order: <strong data-order="(\w+)">([^<]+)<', html)
    assert said.group(1) == (order or "severity")
    assert said.group(2) == words


@pytest.mark.django_db
def test_it_keeps_the_order_in_the_page_links(sre_client, unreachable_alertmanager):
    now = timezone.now()
    for i in range(12):
        make_firing_alert("Many", labels={"shard": f"s-{i:02d}"}, starts_at=now - timedelta(i))
    html = sre_client.get(URL, {"order": "oldest", "per_page": 10}).content.decode()
    assert _card_names(html)[0] == ("Many", "s-11")
    assert re.search(r'href="\?order=oldest&amp;per_page=10&amp;page=2"', html)
    # The other orders are a click away, keeping the filters (and back to the first page).
    assert re.search(r'href="\?per_page=10&amp;order=newest" data-testid="order-newest"', html)


@pytest.mark.django_db
def test_it_refuses_an_unknown_order_saying_the_choices(sre_client, unreachable_alertmanager):
    response = sre_client.get(URL, {"order": "alphabetical"})
    assert response.status_code == 400
    assert "<li>order: " in response.content.decode()


# --- Alertmanager's current view --------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db
def test_it_shows_alertmanagers_current_summary_not_the_first_delivered_one(sre_client, am):
    labels = {"alertname": "RefreshedSummary", "severity": "warning", "tenant_tier": "team"}
    services.post_alerts(am, [{"labels": labels, "annotations": {"summary": "p95 235.7ms"}}])
    [fingerprint] = _held_fingerprints(am, "RefreshedSummary").values()
    alert = make_firing_alert(
        "RefreshedSummary",
        fingerprint=fingerprint,
        labels=labels,
        annotations={"summary": "p95 235.7ms"},
    )
    # Prometheus evaluates again and sends the new value; Alertmanager does not notify.
    services.post_alerts(am, [{"labels": labels, "annotations": {"summary": "p95 428.0ms"}}])

    html = sre_client.get(URL).content.decode()

    [card] = [c for c in _cards(html) if f'data-fingerprint="{fingerprint}"' in c]
    assert '<strong data-testid="summary">p95 428.0ms</strong>' in card
    assert "235.7ms" not in html
    alert.refresh_from_db()
    assert alert.annotations == {"summary": "p95 428.0ms"}  # the resolved list shows it too


@pytest.mark.services
@pytest.mark.django_db
def test_it_resolves_an_alert_alertmanager_no_longer_holds_at_the_next_refresh(sre_client, am):
    labels = {"alertname": "StillHeld", "severity": "critical", "tenant_tier": "team"}
    services.post_alerts(am, [{"labels": labels}])
    [fingerprint] = _held_fingerprints(am, "StillHeld").values()
    held = make_firing_alert("StillHeld", fingerprint=fingerprint, labels=labels)
    gone = make_firing_alert("LongGone", fingerprint="feedfacefeedface")

    before = timezone.now()
    html = sre_client.get(URL).content.decode()
    after = timezone.now()

    firing = html.split('id="resolved-list"')[0]
    resolved = html.split('id="resolved-list"')[1]
    assert f'data-fingerprint="{held.fingerprint}"' in firing
    assert f'data-fingerprint="{gone.fingerprint}"' not in firing
    assert f'data-fingerprint="{gone.fingerprint}"' in resolved
    assert 'data-testid="resolved-absent"' in resolved
    assert "1 alert it no longer holds moved to the resolved list" in html
    gone.refresh_from_db()
    assert (gone.status, gone.resolution) == ("resolved", "absent")
    assert before <= gone.ends_at <= after
    held.refresh_from_db()
    assert held.status == "firing"


@pytest.mark.django_db
def test_it_keeps_what_is_stored_and_says_so_when_alertmanager_cannot_be_asked(
    sre_client, unreachable_alertmanager
):
    alert = make_firing_alert("NobodyKnows", fingerprint="feedfacefeedface")
    html = sre_client.get(URL).content.decode()
    assert f'data-fingerprint="{alert.fingerprint}"' in html.split('id="resolved-list"')[0]
    assert "the alerts below are the ones it last delivered" in html.lower()
    alert.refresh_from_db()
    assert alert.status == "firing"


@pytest.mark.django_db
def test_it_leaves_an_alert_delivered_after_alertmanager_was_asked():
    asked = AlertmanagerNow(asked_at=timezone.now() - timedelta(seconds=1))
    late = make_firing_alert("JustDelivered", fingerprint="aaaa000000000001")
    early = make_firing_alert(
        "GoneBefore",
        fingerprint="aaaa000000000002",
        last_received_at=timezone.now() - timedelta(minutes=5),
    )
    kept = make_firing_alert(
        "StillThere",
        fingerprint="aaaa000000000003",
        last_received_at=timezone.now() - timedelta(minutes=5),
    )
    asked.alerts[kept.fingerprint] = HeldAlert(kept.fingerprint, kept.labels, "active", (), ())

    assert reconcile.resolve_absent(asked, now=timezone.now()) == 1
    assert reconcile.resolve_absent(asked, now=timezone.now()) == 0  # once, however often
    statuses = dict(FiringAlert.objects.values_list("alertname", "status"))
    assert statuses == {"JustDelivered": "firing", "GoneBefore": "resolved", "StillThere": "firing"}
    early.refresh_from_db()
    late.refresh_from_db()
    assert early.resolution == "absent" and late.resolution == ""


@pytest.mark.django_db
def test_it_fires_again_what_a_restarted_alertmanager_holds_again():
    """Just after a restart Alertmanager holds nothing: its alerts are resolved as absent; when
    Prometheus has sent them again they fire again (the webhook may stay quiet for hours)."""
    alert = make_firing_alert(
        "Restarted",
        fingerprint="bbbb000000000001",
        last_received_at=timezone.now() - timedelta(minutes=5),
    )
    empty = AlertmanagerNow(asked_at=timezone.now())
    assert reconcile.resolve_absent(empty, now=timezone.now()) == 1
    alert.refresh_from_db()
    assert (alert.status, alert.resolution) == ("resolved", "absent")
    other = make_firing_alert(
        "RestartedToo",
        fingerprint="bbbb000000000002",
        status="resolved",
        resolution="absent",
        ends_at=timezone.now(),
    )
    again = AlertmanagerNow(asked_at=timezone.now())
    again.alerts[alert.fingerprint] = HeldAlert(
        alert.fingerprint, alert.labels, "active", (), (), starts_at=alert.starts_at
    )
    # another instance of the same fingerprint (a later start) is a new alert, not this one
    again.alerts[other.fingerprint] = HeldAlert(
        other.fingerprint, other.labels, "active", (), (), starts_at=timezone.now()
    )
    assert reconcile.resolve_absent(again, now=timezone.now()) == 0
    alert.refresh_from_db()
    other.refresh_from_db()
    assert (alert.status, alert.resolution, alert.ends_at) == ("firing", "", None)
    assert other.status == "resolved"


# --- the live refresh -------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db
def test_it_brings_a_new_alert_in_and_takes_a_resolved_one_out_on_a_live_refresh(sre_client, am):
    labels = {"alertname": "LiveOld", "severity": "warning", "tenant_tier": "team"}
    services.post_alerts(am, [{"labels": labels}])
    [old_fp] = _held_fingerprints(am, "LiveOld").values()
    make_firing_alert("LiveOld", fingerprint=old_fp, labels=labels)
    page = sre_client.get(URL, {"order": "newest"}).content.decode()
    # The regions the live refresh replaces, by id.
    assert '<div id="firing-list" data-live' in page
    assert 'id="resolved-list" data-live' in page
    assert f'data-fingerprint="{old_fp}"' in page.split('id="resolved-list"')[0]

    # The old one resolves in Alertmanager; a new one is delivered.
    now = timezone.now()
    services.post_alerts(
        am,
        [
            {
                "labels": labels,
                "startsAt": (now - timedelta(minutes=5)).isoformat(),
                "endsAt": (now - timedelta(seconds=1)).isoformat(),
            }
        ],
    )
    new_labels = {**labels, "alertname": "LiveNew"}
    services.post_alerts(am, [{"labels": new_labels}])
    [new_fp] = _held_fingerprints(am, "LiveNew").values()
    make_firing_alert(
        "LiveNew",
        fingerprint=new_fp,
        labels=new_labels,
        last_received_at=timezone.now() - timedelta(seconds=5),
    )

    refreshed = sre_client.get(URL, {"order": "newest"}, headers={"HX-Request": "true"})
    assert refreshed.status_code == 200
    html = refreshed.content.decode()
    firing, resolved = html.split('id="resolved-list"')
    assert '<div id="firing-list" data-live' in html
    assert f'data-fingerprint="{new_fp}"' in firing
    assert f'data-fingerprint="{old_fp}"' not in firing
    assert f'data-fingerprint="{old_fp}"' in resolved
