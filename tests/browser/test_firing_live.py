"""/alerts/ and the silences list stay current in Chromium without a reload: a new alert
appears and one Alertmanager no longer holds leaves, through the shared live refresh
(static/js/live.js fetching the page again and replacing its live regions by id)."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from integrations import alertmanager
from integrations.alertmanager import Matcher
from tests import services
from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD
from tests.factories import make_firing_alert

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def am(settings, alertmanager_server):
    settings.ALERTMANAGER_URL = alertmanager_server.url
    settings.LIVE_REFRESH_SECONDS = 1  # the page refreshes every second here
    yield alertmanager_server.url
    for silence in alertmanager.list_silences():
        alertmanager.expire_silence(silence.id)


def _fingerprint(url: str, alertname: str) -> str:
    with urllib.request.urlopen(f"{url}/api/v2/alerts") as response:
        [found] = [
            a["fingerprint"] for a in json.load(response) if a["labels"]["alertname"] == alertname
        ]
    return str(found)


def _fire(url: str, alertname: str, summary: str) -> tuple[dict, str]:
    labels = {"alertname": alertname, "severity": "critical", "tenant_tier": "enterprise"}
    services.post_alerts(url, [{"labels": labels, "annotations": {"summary": summary}}])
    return labels, _fingerprint(url, alertname)


def test_it_shows_a_new_alert_and_drops_a_resolved_one_without_reload(page: Page, sre, am):
    old_labels, old_fp = _fire(am, "BrowserOldAlert", "p95 235.7ms")
    make_firing_alert(
        "BrowserOldAlert",
        fingerprint=old_fp,
        labels=old_labels,
        annotations={"summary": "p95 235.7ms"},
    )
    log_in(page, "sre", PASSWORD)
    page.goto("/alerts/?order=newest")
    firing = page.locator("#firing-list")
    old_card = firing.locator(f'[data-testid="firing-alert"][data-fingerprint="{old_fp}"]')
    expect(old_card).to_be_visible()
    page.evaluate("window.__marker = 'same page'")

    # The value moves on in Alertmanager (no notification): the card follows.
    services.post_alerts(am, [{"labels": old_labels, "annotations": {"summary": "p95 428.0ms"}}])
    expect(old_card.locator('[data-testid="summary"]')).to_have_text("p95 428.0ms")

    # A new alert is delivered, and the old one resolves in Alertmanager.
    new_labels, new_fp = _fire(am, "BrowserNewAlert", "error rate 9.8%")
    make_firing_alert("BrowserNewAlert", fingerprint=new_fp, labels=new_labels)
    now = timezone.now()
    services.post_alerts(
        am,
        [
            {
                "labels": old_labels,
                "startsAt": (now - timedelta(minutes=5)).isoformat(),
                "endsAt": (now - timedelta(seconds=1)).isoformat(),
            }
        ],
    )

    new_card = firing.locator(f'[data-testid="firing-alert"][data-fingerprint="{new_fp}"]')
    expect(new_card).to_be_visible()
    expect(new_card).to_contain_text("error rate 9.8%")
    expect(old_card).to_have_count(0)
    resolved = page.locator(f'#resolved-list [data-fingerprint="{old_fp}"]')
    expect(resolved).to_contain_text("found gone from Alertmanager")
    assert page.evaluate("window.__marker") == "same page"
    screenshot(page, "firing-live")


def test_it_keeps_the_silences_list_current_without_reload(page: Page, sre, am):
    now = datetime.now(UTC)
    first = alertmanager.create_silence(
        [Matcher("alertname", "BrowserSilenced")],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="sre",
        comment="first",
    )
    log_in(page, "sre", PASSWORD)
    page.goto("/alerts/silences")
    expect(page.locator(f"#silence-{first}")).to_be_visible()
    page.evaluate("window.__marker = 'same page'")

    alertmanager.expire_silence(first)
    second = alertmanager.create_silence(
        [Matcher("alertname", "BrowserSilencedToo")],
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        created_by="sre2",
        comment="second",
    )

    expect(page.locator(f"#silence-list #silence-{second}")).to_be_visible()
    expect(page.locator(f"#silence-{first}")).to_have_count(0)
    assert page.evaluate("window.__marker") == "same page"
