"""The checklist flow in Chromium: an SRE checks every daily item and signs off; a monthly
run signed off by one SRE is completed by a second SRE's review."""

from __future__ import annotations

import os
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from checklists import actions
from checklists.choices import Cadence, RunStatus
from checklists.models import ChecklistRun
from tests.browser.conftest import TIMEOUT, log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_runs(settings, prometheus_server, alertmanager_server):
    settings.PROMETHEUS_URL = prometheus_server.url
    settings.ALERTMANAGER_URL = alertmanager_server.url
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    runs = {run.cadence: run for run in actions.open_runs()}
    for run in runs.values():  # the evidence as the beat tick would gather it
        from checklists import evidence

        actions.store_evidence(run, evidence.gather(run), actor=None)
    return runs


def test_it_signs_off_a_daily_run_and_reviews_a_monthly_one(
    page: Page, browser: Browser, live_server, sre, sre2, open_runs
):
    daily, monthly = open_runs[Cadence.DAILY], open_runs[Cadence.MONTHLY]
    log_in(page, "sre", PASSWORD)
    page.get_by_role("link", name="Checklists").first.click()
    expect(page.get_by_test_id("current-daily")).to_contain_text("Open")
    expect(page.locator('[data-testid="completion-chart"] .main-svg').first).to_be_attached()
    screenshot(page, "checklists-index")
    page.get_by_test_id("current-daily").get_by_role("link").click()
    items = page.get_by_test_id("item")
    expect(items).to_have_count(4)
    expect(page.get_by_test_id("evidence").first).to_be_visible()
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    for index in range(4):
        item = items.nth(index)
        item.get_by_placeholder("Note (optional)").fill(f"checked item {index + 1}")
        item.get_by_test_id("check").click()
        expect(page.get_by_test_id("item").nth(index)).to_have_attribute("data-status", "done")
        expect(page.locator("#messages")).to_contain_text("Checked “")
    # the items were checked in place: no page load, the same document
    assert page.evaluate("window.sameDocument") is True
    screenshot(page, "checklists-daily-checked")
    page.get_by_test_id("sign-off").click()
    expect(page.get_by_test_id("signed")).to_contain_text("Signed off by sre")
    expect(page.get_by_test_id("check")).to_have_count(0)
    screenshot(page, "checklists-daily-signed")
    assert ChecklistRun.objects.get(pk=daily.pk).status == RunStatus.COMPLETE

    # the monthly run: sre signs off, then may not review their own run
    page.goto(f"/checklists/runs/{monthly.pk}/")
    items = page.get_by_test_id("item")
    for index in range(items.count()):
        page.get_by_test_id("item").nth(index).get_by_test_id("check").click()
    page.get_by_test_id("sign-off").click()
    expect(page.get_by_test_id("signed")).to_contain_text("Waiting for a review")
    expect(page.get_by_test_id("review")).to_have_count(0)
    assert ChecklistRun.objects.get(pk=monthly.pk).status == RunStatus.AWAITING_REVIEW

    reviewer = browser.new_context(base_url=live_server.url).new_page()
    reviewer.set_default_timeout(TIMEOUT)
    log_in(reviewer, "sre2", PASSWORD)
    reviewer.goto(f"/checklists/runs/{monthly.pk}/")
    reviewer.get_by_test_id("review").click()
    expect(reviewer.get_by_test_id("signed")).to_contain_text("Reviewed by sre2")
    screenshot(reviewer, "checklists-monthly-reviewed")
    run = ChecklistRun.objects.get(pk=monthly.pk)
    assert (run.status, run.signed_off_by, run.reviewed_by) == (RunStatus.COMPLETE, sre, sre2)
    reviewer.context.close()


def test_it_falls_back_to_a_plain_post_when_htmx_cannot_show_the_answer(
    page: Page, live_server, sre, open_runs
):
    """The session ends mid-run: the item's post answers with the login page, which replaces
    the run page instead of being swapped into it; a post the server refuses (no CSRF cookie
    any more) shows the refusal instead of nothing."""
    daily = open_runs[Cadence.DAILY]
    log_in(page, "sre", PASSWORD)
    page.goto(f"/checklists/runs/{daily.pk}/")
    page.context.clear_cookies(name="sessionid")
    page.get_by_test_id("item").first.get_by_test_id("check").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/checklists/runs/"))
    expect(page.locator("main")).to_have_count(1)

    log_in(page, "sre", PASSWORD)
    page.goto(f"/checklists/runs/{daily.pk}/")
    page.context.clear_cookies(name="csrftoken")
    page.get_by_test_id("item").first.get_by_test_id("check").click()
    expect(page.get_by_text("CSRF verification failed")).to_be_visible()
    assert ChecklistRun.objects.get(pk=daily.pk).items.filter(status="done").count() == 0
