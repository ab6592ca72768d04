"""An incident in Chromium, from a real enterprise latency spike to its recovery: the panel's
own evaluation cycles (alerts.tasks.run_cycle, what beat runs) open it from the breach, a
scale approved by a second SRE runs against the demo cluster, the spike ends and the incident
closes by itself, while the incident list and the incident page stay open, never reloaded;
then the incident exports as Markdown."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from alerts.tasks import run_cycle
from controlpanel.celery import app
from demo import kube
from firing import actions as firing_actions
from incidents.models import Incident
from metrics.models import Metric
from runbooks import actions as runbook_actions
from runbooks.choices import RunStatus
from runbooks.models import Action, ActionRun
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_content_security import RECORD_VIOLATIONS
from tests.conftest import PASSWORD, running_demo
from tests.factories import make_firing_alert
from tests.services import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NS = "leanvibe-production"


@pytest.fixture
def spike_demo(settings, tmp_path):
    """A demo and Prometheus of this test's own, the playbook loaded, and the p95 taken over
    20 s instead of 5 min: the five-minute window would keep the spike in the p95 for five
    minutes after it ended, and the recovery is what this test watches."""
    with running_demo(tmp_path) as (env, prometheus):
        settings.PROMETHEUS_URL = prometheus.url
        settings.LIVE_REFRESH_SECONDS = 1
        call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
        metric = Metric.objects.get(key="api_p95_latency")
        Metric.objects.filter(pk=metric.pk).update(query=metric.query.replace("[5m]", "[20s]"))
        run_cycle()
        yield env


@pytest.fixture
def demo_cluster(tmp_path, settings):
    cluster = kube.Cluster()
    port = free_port()
    server = kube.serve(cluster, "127.0.0.1", port)
    path = tmp_path / "kubeconfig"
    path.write_text(kube.kubeconfig(f"http://127.0.0.1:{port}"))
    settings.KUBECONFIG = str(path)
    yield cluster
    server.shutdown()


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def cycles_until(condition: Callable[[], bool], page: Page, seconds: float = 120) -> None:
    """Run evaluation cycles, as beat does, until ``condition`` holds (each round waits on the
    page for a second, the demo's scrape interval, so the page keeps refreshing meanwhile)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        run_cycle()
        page.wait_for_timeout(1000)


def test_it_gathers_the_alert_the_run_and_the_recovery_and_exports(
    page: Page, sre, sre2, spike_demo, demo_cluster, eager, tmp_path
):
    page.add_init_script(RECORD_VIOLATIONS)
    log_in(page, "sre", PASSWORD)
    page.goto("/incidents/?status=open")
    expect(page.get_by_test_id("no-incidents")).to_be_visible()
    page.evaluate("window.__marker = 'same page'")

    spike_demo.start_scenario("latency_spike", 10, {"tenant_tier": "enterprise"})
    cycles_until(lambda: Incident.objects.exists(), page)
    row = page.get_by_test_id("incident-row")
    expect(row).to_contain_text("LeanVibeHighResponseTime")  # the list gained it by itself
    assert page.evaluate("window.__marker") == "same page"
    screenshot(page, "incidents-list-open")

    row.get_by_role("link").click()
    incident = Incident.objects.get()
    expect(page.get_by_test_id("incident-status")).to_have_text("Open")
    page.evaluate("window.__marker = 'incident page'")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator('[data-source="state"]').first).to_contain_text(
        "tenant_tier=enterprise"
    )

    # Alertmanager's delivery of Prometheus's own alert, stored as the webhook stores it
    # (Prometheus fired a few seconds before the panel's cycle saw the breach), and its
    # acknowledgement: both join the open page's timeline.
    alert = make_firing_alert(
        starts_at=incident.started_at - timedelta(seconds=5),
        labels={"severity": "warning", "tenant_tier": "enterprise"},
    )
    expect(timeline.locator('[data-source="alert"]')).to_contain_text("fired in Prometheus")
    firing_actions.acknowledge_alert(alert, actor=sre, comment="on it")
    expect(timeline.locator('[data-source="ack"]')).to_contain_text("acknowledged")
    assert page.evaluate("window.__marker") == "incident page"

    page.get_by_label("Note", exact=True).fill("Scaling the backend to 6.")
    page.get_by_role("button", name="Add note").click()
    expect(timeline.locator('[data-source="note"]')).to_contain_text("Scaling the backend to 6.")
    page.evaluate("window.__marker = 'incident page'")

    scale = Action.objects.get(step__runbook__name="LeanVibeHighResponseTime", kind="k8s_scale")
    run = runbook_actions.request_run(
        scale, {"namespace": NS, "deployment": "leanvibe-backend", "replicas": 6}, actor=sre
    )
    runbook_actions.approve_run(run, actor=sre2)
    assert ActionRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED
    expect(timeline.locator('[data-source="run"][data-state="succeeded"]')).to_contain_text(
        "Scale leanvibe-backend to 6 replicas"
    )

    spike_demo.scenarios.end(now=spike_demo.clock())
    cycles_until(lambda: not Incident.objects.get(pk=incident.pk).is_open, page)
    expect(page.get_by_test_id("incident-status")).to_have_text("Closed")
    # the close form goes with the refresh that brought the closure (nobody was typing in it)
    expect(page.get_by_role("heading", name="Close the incident")).to_have_count(0)
    expect(page.get_by_test_id("incident-summary")).to_contain_text("by itself")
    expect(timeline.locator('[data-source="state"][data-state="ok"]')).to_have_count(1)
    expect(timeline.locator('[data-source="incident"]').last).to_contain_text("Closed by itself")
    durations = page.get_by_test_id("duration")
    # from Prometheus's start, 5 s before the breach, to the incident (and the cycle's time)
    expect(durations.nth(0)).to_contain_text(re.compile(r"^([5-9]|[1-5][0-9]) s "))
    expect(durations.nth(1)).not_to_contain_text("not yet")
    expect(durations.nth(2)).not_to_contain_text("not yet")  # mitigated by the scale
    expect(durations.nth(3)).not_to_contain_text("not yet")
    assert page.evaluate("window.__marker") == "incident page"  # never reloaded
    assert page.evaluate("window.__csp") == []  # nothing refused by the Content-Security-Policy
    screenshot(page, "incident-closed")

    with page.expect_download() as info:
        page.get_by_test_id("export").click()
    download = info.value
    assert download.suggested_filename == f"incident-{incident.pk}.md"
    path = tmp_path / "incident.md"
    download.save_as(path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"# Incident {incident.pk}: LeanVibeHighResponseTime")
    for name in ("Time to detect", "Time to acknowledge", "Time to mitigate", "Time to resolve"):
        assert f"| {name} |" in text
    assert "Scale leanvibe-backend to 6 replicas: succeeded" in text
    assert "Closed by itself" in text
    assert "Scaling the backend to 6." in text
    assert "LeanVibeHighResponseTime acknowledged — sre: on it" in text
