"""The navigation's live part (controlpanel/live.py): its counts for the roles that act on
them, and a live refresh that leaves the messages for the page they were meant for."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from controlpanel.live import nav_counts
from tests.factories import make_firing_alert

pytestmark = pytest.mark.django_db

LIVE = {"HTTP_HX_REQUEST": "true", "HTTP_X_LIVE_REFRESH": "1"}


def test_it_counts_firing_alerts_by_severity_for_sres_only(sre, business):
    make_firing_alert("A", labels={"severity": "critical"})
    make_firing_alert("B", labels={"severity": "warning"})
    make_firing_alert("C", labels={"severity": "warning"})
    make_firing_alert("D", labels={"severity": "critical"}, status="resolved")
    counts = nav_counts(sre)
    assert (counts.critical, counts.warning, counts.firing) == (1, 2, 3)
    assert not nav_counts(business).shows_alerts


def test_a_live_refresh_leaves_the_messages_for_the_next_page(sre_client):
    response = sre_client.post(reverse("incidents:open-incident"), {"title": ""})
    assert response.status_code == 302  # back to the list, with the error as a message
    pending = [str(m) for m in get_messages(response.wsgi_request)]
    refreshed = sre_client.get(reverse("live-navigation"), **LIVE).content.decode()
    assert pending and pending[0] not in refreshed
    page = sre_client.get(reverse("incidents:incidents")).content.decode()
    assert pending[0].split(":")[0] in page
