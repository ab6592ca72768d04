from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_logs_an_sre_in_shows_the_home_page_and_logs_out(
    page: Page, sre, settings, prometheus_server
):
    settings.PROMETHEUS_URL = prometheus_server.url
    page.goto("/")
    expect(page).to_have_url("/accounts/login/?next=/")
    screenshot(page, "login")
    log_in(page, "sre", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    expect(page.get_by_text("Signed in as SRE on call")).to_be_visible()
    expect(page.get_by_test_id("username")).to_have_text("sre")
    expect(page.get_by_role("heading", name="The panel's own health")).to_be_visible()
    screenshot(page, "home-sre")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url("/accounts/login/")
    page.goto("/")
    expect(page).to_have_url("/accounts/login/?next=/")


def test_it_refuses_a_wrong_password_with_a_clear_message(page: Page, sre):
    log_in(page, "sre", "wrong-password")
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    screenshot(page, "login-refused")


def test_it_shows_the_banner_when_prometheus_is_down(page: Page, business, settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    log_in(page, "business", PASSWORD)
    banner = page.get_by_test_id("health-banner")
    expect(banner).to_contain_text("Prometheus at http://127.0.0.1:9 is not answering")
    expect(banner).to_contain_text("no heartbeat recorded yet")
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
    screenshot(page, "home-business-banner")
