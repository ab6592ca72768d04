"""The admin's threshold list in Chromium at 1,280 px: every column beside the filters (none
hidden under the filter sidebar), the levels in their units."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from alerts.models import Check, Threshold
from core.choices import State
from tests.browser.conftest import TIMEOUT, log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser, live_server):
    """The conftest's page at 1280 by 800 px, the size the admin's lists must fit."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    yield page
    context.close()


def test_it_fits_the_threshold_list_and_its_filters_in_1280_px(page: Page, admin_user, settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    backup = Threshold.objects.get(key="backup_age")
    Check.objects.create(
        threshold=backup, signature="backup_age", labels={}, state=State.OK, value=23790.4
    )
    log_in(page, "admin", PASSWORD)
    page.goto("/admin/alerts/threshold/")
    table = page.locator("#result_list")
    expect(table).to_be_visible()
    screenshot(page, "admin-threshold-list-1280")

    filters = page.locator("#changelist-filter").bounding_box()
    assert filters is not None
    for header in ("Key", "Alert", "Category", "State", "Value", "Warning", "Critical"):
        box = table.locator("thead th", has_text=header).first.bounding_box()
        assert box is not None and box["x"] + box["width"] <= filters["x"], header
    for header in ("Relative to", "Tuned"):
        box = table.locator("thead th", has_text=header).first.bounding_box()
        assert box is not None and box["x"] + box["width"] <= filters["x"], header
    whole = table.bounding_box()
    assert whole is not None and whole["x"] + whole["width"] <= filters["x"]
    assert filters["x"] + filters["width"] <= 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # no sideways scroll

    row = table.locator("tr", has_text="backup_age")
    expect(row).to_contain_text("> 26h")
    expect(row).to_contain_text("> 50h")
    expect(row).to_contain_text("6h37m")
    expect(table.locator("tr", has_text="api_p95_latency.enterprise")).to_contain_text("> 200 ms")
    expect(table).not_to_contain_text("e+0")
    expect(table).not_to_contain_text("93600")


@pytest.fixture
def eager(settings, tmp_path):
    """Celery tasks run in place; the rule file goes to a temporary directory."""
    from controlpanel.celery import app as celery_app

    settings.PROMETHEUS_RULES_DIR = tmp_path / "rules"
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_it_asks_once_about_a_latency_typed_in_seconds_place(
    page: Page, admin_user, settings, eager
):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"  # the backtest says it could not replay
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    threshold = Threshold.objects.get(key="api_p95_latency.enterprise")
    log_in(page, "admin", PASSWORD)
    page.goto(f"/admin/alerts/threshold/{threshold.pk}/change/")
    warning = page.get_by_label("Warning:", exact=True)
    expect(warning).to_have_value("200")
    expect(page.get_by_test_id("unit-warning")).to_have_text("ms")
    expect(page.get_by_test_id("unit-critical")).to_have_text("ms")
    expect(page.get_by_text("The warning level, in ms.")).to_be_visible()
    expect(page.get_by_label("Save anyway")).to_have_count(0)

    warning.fill("250000")
    page.get_by_label("Critical:", exact=True).fill("500000")
    warning.dispatch_event("change")
    expect(page.get_by_test_id("backtest-unusual")).to_contain_text(
        "warning 250,000 ms is unusual for a latency"
    )
    page.get_by_label("Alert-tuning note:").fill("slower on purpose")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#id_warning_error")).to_contain_text(
        "250,000 ms is unusual for a latency (usually between 0 and 10,000 ms)"
    )
    confirm = page.get_by_label("Save anyway")
    expect(confirm).to_be_visible()
    expect(warning).to_have_value("250000")  # as typed, still in ms
    screenshot(page, "admin-threshold-unusual-1280")
    threshold.refresh_from_db()
    assert threshold.warning == 0.2

    confirm.check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    threshold.refresh_from_db()
    assert (threshold.warning, threshold.critical) == (250.0, 500.0)
