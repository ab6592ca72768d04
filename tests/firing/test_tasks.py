"""The periodic sync with Alertmanager, as a worker runs it."""

from __future__ import annotations

import pytest

from firing.tasks import sync_with_alertmanager
from tests import services
from tests.factories import make_firing_alert


@pytest.mark.services
@pytest.mark.django_db
def test_it_resolves_what_alertmanager_no_longer_holds_without_a_page_open(
    settings, alertmanager_server
):
    settings.ALERTMANAGER_URL = alertmanager_server.url
    gone = make_firing_alert("SyncedAway", fingerprint="beefbeefbeefbeef")
    assert sync_with_alertmanager() == 1
    gone.refresh_from_db()
    assert (gone.status, gone.resolution) == ("resolved", "absent")


@pytest.mark.django_db
def test_it_changes_nothing_when_alertmanager_cannot_be_asked(settings):
    settings.ALERTMANAGER_URL = f"http://127.0.0.1:{services.free_port()}"
    kept = make_firing_alert("Unknowable", fingerprint="beefbeefbeefbee0")
    assert sync_with_alertmanager() == 0
    kept.refresh_from_db()
    assert kept.status == "firing"
