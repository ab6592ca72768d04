"""The runbook flow in Chromium: from a critical tile to the runbook, a probe and a log
search, a scale to 6 that shows the server's dry run, a second SRE's approval, and the demo
cluster's deployment at 6 replicas."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from kubernetes import client, config
from playwright.sync_api import Browser, Page, expect

from alerts.models import Check, Threshold
from controlpanel.celery import app
from core.choices import State
from demo import kube
from tests.browser.conftest import TIMEOUT, log_in, screenshot
from tests.conftest import PASSWORD
from tests.services import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NS = "leanvibe-production"


@pytest.fixture
def demo_cluster(tmp_path, settings):
    cluster = kube.Cluster()
    port = free_port()
    server = kube.serve(cluster, "127.0.0.1", port)
    path = tmp_path / "kubeconfig"
    path.write_text(kube.kubeconfig(f"http://127.0.0.1:{port}"))
    settings.KUBECONFIG = str(path)
    cluster.scenarios.start(
        "latency_spike", 10, {"tenant_tier": "enterprise"}, now=cluster.clock() - 120
    )
    yield path
    server.shutdown()


@pytest.fixture
def critical_latency(settings, prometheus_server):
    settings.PROMETHEUS_URL = prometheus_server.url
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    now = timezone.now()
    Check.objects.create(
        threshold=Threshold.objects.get(key="api_p95_latency.enterprise"),
        labels={"tenant_tier": "enterprise"},
        signature="enterprise",
        state=State.CRITICAL,
        value=0.62,
        reason="above 0.5",
        since=now - timedelta(minutes=3),
        evaluated_at=now,
    )


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _action(page: Page, label: str):
    return page.locator('[data-testid="action"]', has_text=label).first


def test_it_scales_to_six_after_a_second_sre_approves(
    page: Page,
    browser: Browser,
    live_server,
    sre,
    sre2,
    critical_latency,
    demo_cluster,
    eager,
    settings,
):
    api = {"url": live_server.url, "credential_env": ""}
    settings.RUNBOOK_HTTP_TARGETS = {**settings.RUNBOOK_HTTP_TARGETS, "api": api}
    log_in(page, "sre", PASSWORD)
    page.goto("/d/leanvibe-overview")
    tile = page.locator('[data-signature="enterprise"]')
    expect(tile).to_have_attribute("data-state", "critical")
    tile.get_by_test_id("tile-runbook").click()
    expect(page).to_have_url(
        f"{live_server.url}/runbooks/LeanVibeHighResponseTime?tenant_tier=enterprise"
    )
    expect(page.get_by_test_id("labels")).to_contain_text('tenant_tier="enterprise"')
    screenshot(page, "runbook-high-response-time")

    probe = _action(page, "Time the API health endpoint")
    expect(probe.get_by_label("Target")).to_have_value("api")
    expect(probe.get_by_label("Path")).to_have_value("/health")
    probe.get_by_role("button", name="Run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded")
    expect(page.get_by_test_id("output")).to_contain_text("HTTP 200 · Total:")
    expect(page.get_by_test_id("output")).to_contain_text("First byte:")

    page.goto("/runbooks/LeanVibeHighResponseTime?tenant_tier=enterprise")
    _action(page, "Slow requests in the application logs").get_by_role("button", name="Run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded")
    expect(page.get_by_test_id("output")).to_contain_text("slow_request")
    screenshot(page, "runbook-log-search")

    page.goto("/runbooks/LeanVibeHighResponseTime?tenant_tier=enterprise")
    scale = _action(page, "Scale leanvibe-backend to 6 replicas")
    expect(scale.get_by_label("Replicas")).to_have_value("6")
    scale.get_by_role("button", name="Request approval").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Awaiting approval")
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("- spec.replicas: 3")
    expect(preview).to_contain_text("+ spec.replicas: 6")
    expect(page.get_by_test_id("needs-second")).to_be_visible()
    expect(page.get_by_role("button", name="Approve and run")).to_have_count(0)
    run_url = page.url
    screenshot(page, "runbook-awaiting-approval")

    second = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    other = second.new_page()
    other.set_default_timeout(TIMEOUT)
    log_in(other, "sre2", PASSWORD)
    other.goto(run_url)
    other.get_by_role("button", name="Approve and run").click()
    expect(other.get_by_test_id("run-status")).to_have_text("Succeeded")
    expect(other.get_by_test_id("approver")).to_have_text("sre2")
    expect(other.get_by_test_id("output")).to_contain_text("scaled: 3 → 6 replicas")
    screenshot(other, "runbook-approved")
    second.close()

    api = config.new_client_from_config(config_file=str(demo_cluster))
    assert (
        client.AppsV1Api(api).read_namespaced_deployment("leanvibe-backend", NS).spec.replicas == 6
    )

    page.goto("/runbooks/audit")
    row = page.locator('[data-testid="run-row"]', has_text="Scale leanvibe-backend").first
    expect(row).to_contain_text("sre2")
    expect(row).to_contain_text("Succeeded")
    screenshot(page, "runbook-audit")
