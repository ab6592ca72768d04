from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from alerts.choices import State
from alerts.models import Check, Threshold
from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def overview(settings, prometheus_server):
    settings.PROMETHEUS_URL = prometheus_server.url
    settings.EVALUATION_INTERVAL = 1  # the tiles poll every second here
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    now = timezone.now()
    return Check.objects.create(
        threshold=Threshold.objects.get(key="api_p95_latency.enterprise"),
        labels={"tenant_tier": "enterprise"},
        signature="enterprise",
        state=State.OK,
        value=0.145,
        reason="inside every threshold",
        since=now - timedelta(minutes=2),
        evaluated_at=now,
    )


def test_it_refreshes_a_tile_without_reloading_the_page(page: Page, sre, overview):
    log_in(page, "sre", PASSWORD)
    page.goto("/d/leanvibe-overview")
    tile = page.locator('[data-signature="enterprise"]')
    expect(tile).to_have_attribute("data-state", "ok")
    expect(tile).to_contain_text("145 ms")
    page.evaluate("window.__marker = 'same page'")
    Check.objects.filter(pk=overview.pk).update(
        state=State.CRITICAL, value=0.62, evaluated_at=timezone.now()
    )
    expect(tile).to_have_attribute("data-state", "critical", timeout=10_000)
    expect(tile).to_contain_text("Critical")
    expect(tile).to_contain_text("620 ms")
    assert page.evaluate("window.__marker") == "same page"
    screenshot(page, "overview-critical")


def test_it_keeps_business_staff_out_of_the_kubernetes_dashboard(page: Page, business, overview):
    log_in(page, "business", PASSWORD)
    expect(page.get_by_role("link", name="Kubernetes")).to_have_count(0)
    response = page.goto("/d/kubernetes-overview")
    assert response is not None and response.status == 403
    page.goto("/d/business-metrics")
    expect(page.get_by_role("heading", level=1)).to_have_text("Business Metrics")
