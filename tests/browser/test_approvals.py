"""Approvals in Chromium: one SRE dry-runs a scale-up and asks for approval from the dry run's
page; a second SRE finds it from the navigation and their home page and approves it; the
first SRE's run page, never reloaded, follows it to "Succeeded", and their home page says who
approved it. A refused form lands the eye on its error, with the alert's labels kept; a
refusal needs a reason, and the requester's open page shows it."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command
from kubernetes import client, config
from playwright.sync_api import Browser, Page, expect

from controlpanel.celery import app
from demo import kube
from tests.browser.conftest import TIMEOUT, log_in, screenshot
from tests.conftest import PASSWORD
from tests.services import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NS = "leanvibe-production"
RUNBOOK = "/runbooks/LeanVibeHighResponseTime?tenant_tier=enterprise"
SCALE = "Scale leanvibe-backend to 6 replicas"


@pytest.fixture
def demo_cluster(tmp_path, settings):
    cluster = kube.Cluster()
    port = free_port()
    server = kube.serve(cluster, "127.0.0.1", port)
    path = tmp_path / "kubeconfig"
    path.write_text(kube.kubeconfig(f"http://127.0.0.1:{port}"))
    settings.KUBECONFIG = str(path)
    yield path
    server.shutdown()


@pytest.fixture
def panel(settings, prometheus_server, demo_cluster):
    settings.PROMETHEUS_URL = prometheus_server.url
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    app.conf.task_always_eager = True
    yield demo_cluster
    app.conf.task_always_eager = False


def _action(page: Page, label: str):
    return page.locator('[data-testid="action"]', has_text=label).first


def _second_sre(browser: Browser, live_server) -> Page:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    other = context.new_page()
    other.set_default_timeout(TIMEOUT)
    log_in(other, "sre2", PASSWORD)
    return other


def _replicas(kubeconfig) -> int:
    api = config.new_client_from_config(config_file=str(kubeconfig))
    return client.AppsV1Api(api).read_namespaced_deployment("leanvibe-backend", NS).spec.replicas


def test_it_lets_a_second_sre_find_and_approve_a_run_from_the_navigation(
    page: Page, browser: Browser, live_server, sre, sre2, panel
):
    log_in(page, "sre", PASSWORD)
    page.goto(RUNBOOK)
    scale = _action(page, SCALE)
    expect(scale.get_by_label("Replicas")).to_have_value("6")
    scale.get_by_role("button", name="Dry run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded")
    expect(page.get_by_test_id("run-notice")).to_contain_text("This was a dry run")
    page.get_by_test_id("request-approval").get_by_role("button", name="Request approval").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Awaiting approval")
    expect(page.get_by_test_id("needs-second")).to_contain_text("since just now")
    expect(page.get_by_test_id("needs-second")).to_contain_text("expires in 1 h")
    expect(page.get_by_test_id("preview")).to_contain_text("+ spec.replicas: 6")
    run_path = page.url.removeprefix(live_server.url)
    screenshot(page, "approval-requested")

    other = _second_sre(browser, live_server)
    other.goto("/runbooks/audit")  # any page: the navigation carries the count
    to_approve = other.get_by_test_id("nav-to-approve")
    expect(to_approve).to_contain_text("1 to approve")
    to_approve.click()
    waiting = other.get_by_test_id("awaiting-run")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text(SCALE)
    expect(waiting).to_contain_text("asked by sre just now")
    screenshot(other, "approval-on-home")
    waiting.get_by_role("link", name=SCALE).click()
    expect(other).to_have_url(live_server.url + run_path)
    other.get_by_role("button", name="Approve and run").click()
    expect(other.get_by_test_id("run-status")).to_have_text("Succeeded")
    expect(other.get_by_test_id("approver")).to_have_text("sre2")
    expect(other.locator("#messages")).not_to_contain_text("queued")
    other.context.close()
    assert _replicas(panel) == 6

    # The requester's page, never reloaded, followed the run to its end.
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded")
    expect(page.get_by_test_id("approver")).to_have_text("sre2")
    expect(page.get_by_test_id("needs-second")).to_have_count(0)
    page.goto("/")
    mine = page.get_by_test_id("my-request")
    expect(mine).to_contain_text("approved by sre2 just now")
    expect(mine).to_contain_text("Succeeded")
    screenshot(page, "approval-seen-by-requester")


def test_it_lands_the_eye_on_a_refused_forms_error_with_the_labels_kept(
    page: Page, live_server, sre, panel
):
    log_in(page, "sre", PASSWORD)
    page.goto(RUNBOOK)
    scale = _action(page, SCALE)
    scale.get_by_label("Replicas").fill("40")
    scale.get_by_role("button", name="Request approval").click()
    scale = _action(page, SCALE)
    summary = scale.get_by_test_id("error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_in_viewport()
    expect(summary).to_contain_text("Replicas")
    replicas = scale.get_by_label("Replicas")
    expect(replicas).to_be_focused()
    expect(replicas).to_have_value("40")
    expect(page.get_by_test_id("labels")).to_contain_text('tenant_tier="enterprise"')
    assert "tenant_tier=enterprise" in page.url
    screenshot(page, "refused-form-focused")


def test_it_needs_a_reason_to_refuse_and_tells_the_requester(
    page: Page, browser: Browser, live_server, sre, sre2, panel
):
    log_in(page, "sre", PASSWORD)
    page.goto(RUNBOOK)
    _action(page, SCALE).get_by_role("button", name="Request approval").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Awaiting approval")
    run_path = page.url.removeprefix(live_server.url)

    other = _second_sre(browser, live_server)
    other.goto(run_path)
    other.get_by_role("button", name="Refuse").click()
    reason = other.get_by_label("Reason")
    expect(reason).to_be_focused()
    expect(other.get_by_test_id("error-summary")).to_contain_text("Say why you refuse it")
    reason.fill("Scale the API tier first.")
    expect(other.get_by_text("25 / 500")).to_be_visible()
    other.get_by_role("button", name="Refuse").click()
    expect(other.get_by_test_id("run-status")).to_have_text("Refused")
    other.context.close()

    expect(page.get_by_test_id("run-status")).to_have_text("Refused")
    expect(page.get_by_test_id("refusal")).to_contain_text("Refused by sre2")
    expect(page.get_by_test_id("refusal-reason")).to_have_text("Scale the API tier first.")
    page.goto("/")
    expect(page.get_by_test_id("my-request")).to_contain_text("refused by sre2 just now")
    assert _replicas(panel) == 3
