"""Every kind of page works under the Content-Security-Policy: no script or style it needs is
refused (no inline script, no eval), as Chromium itself reports it."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from alerts.models import Threshold
from checklists.actions import open_runs
from tests import services
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Chromium reports each refusal as a securitypolicyviolation event on the document.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def loaded(settings, prometheus_server):
    settings.PROMETHEUS_URL = prometheus_server.url
    settings.ALERTMANAGER_URL = f"http://127.0.0.1:{services.free_port()}"  # pages say it is down
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    open_runs()  # the checklists page then draws its completion chart with plotly


def _violations(page: Page, path: str) -> list[str]:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__csp")


def test_it_draws_every_kind_of_page_without_a_refused_script_or_style(
    page: Page, admin_user, loaded
):
    page.add_init_script(RECORD_VIOLATIONS)
    log_in(page, "admin", PASSWORD)
    threshold = Threshold.objects.get(key="api_error_rate")
    pages = [
        "/",
        "/d/leanvibe-overview",  # plotly charts and the htmx tiles
        "/alerts/",
        "/alerts/silences",
        "/alerts/rules",
        "/runbooks/",
        "/runbooks/LeanVibeHighResponseTime",
        "/checklists/",
        "/checklists/sla/",
        f"/admin/alerts/threshold/{threshold.pk}/change/",  # the htmx backtest and its chart
    ]
    refused = {path: _violations(page, path) for path in pages}
    assert {path: found for path, found in refused.items() if found} == {}
    # A chart really drew (plotly ran under the policy).
    page.goto("/checklists/")
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
