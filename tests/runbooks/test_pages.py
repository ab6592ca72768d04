"""The runbook pages: every alert's runbook answers for an SRE with its steps and action
forms prefilled from the alert's labels; business staff get 403 on every runbook URL."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from alerts.models import Alert
from alerts.playbook import PLAYBOOK_ALERTS
from runbooks.models import Action, ActionRun
from tests.factories import make_firing_alert

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", PLAYBOOK_ALERTS)
def test_it_shows_each_playbook_alerts_runbook_with_an_action_per_step(sre_client, playbook, name):
    html = sre_client.get(f"/runbooks/{name}").content.decode()
    steps = html.count('data-testid="step"')
    assert steps >= 1
    assert html.count('data-testid="action"') >= steps
    assert "monitoring@leanvibe.ai" in html


def test_it_answers_for_every_alert_the_panel_exports(sre_client, playbook):
    for name in Alert.objects.values_list("name", flat=True):
        assert sre_client.get(f"/runbooks/{name}").status_code == 200, name


def test_it_shows_time_boxes_severity_and_impact(sre_client, playbook):
    html = sre_client.get("/runbooks/LeanVibeHighResponseTime").content.decode()
    assert "Immediate Assessment" in html and '<span class="tag" data-testid="time-box">2m' in html
    assert "Warning/Critical" in html
    assert "SLA impact: direct impact on customer experience." in html
    assert "+1-555-MONITOR" in html


def test_it_lists_runbooks_by_kind(sre_client, playbook):
    html = sre_client.get("/runbooks/").content.decode()
    assert html.count('data-testid="runbook-card"') == 18
    assert "Alert responses" in html and "Performance troubleshooting guides" in html


def test_it_prefills_parameters_from_the_links_labels(sre_client, playbook):
    html = sre_client.get("/runbooks/HighMemoryUsage?pod=leanvibe-backend-x2k9p").content.decode()
    delete = Action.objects.get(step__runbook__name="HighMemoryUsage", kind="k8s_delete_pod")
    assert f'name="a{delete.pk}-pod" value="leanvibe-backend-x2k9p"' in html
    assert 'pod="leanvibe-backend-x2k9p"' in html


def test_it_prefills_from_the_newest_firing_alert(sre_client, playbook):
    make_firing_alert("HighMemoryUsage", labels={"pod": "leanvibe-backend-h8r2n"})
    html = sre_client.get("/runbooks/HighMemoryUsage").content.decode()
    assert 'value="leanvibe-backend-h8r2n"' in html
    assert "from the firing alert since" in html


def test_it_offers_the_configured_targets_to_choose_from_and_no_url_field(
    sre_client, playbook, point_target
):
    point_target("api", "https://api.leanvibe.example")
    point_target("backend", "http://backend.leanvibe.example:8000")
    point_target("payments", "https://api.stripe.com/v1/account", "STRIPE_SECRET_KEY")
    html = sre_client.get("/runbooks/LeanVibeHighErrorRate").content.decode()
    check = Action.objects.get(step__runbook__name="LeanVibeHighErrorRate", kind="dependency_check")
    select = re.search(rf'<select name="a{check.pk}-target".*?</select>', html, re.S)
    assert select is not None
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select[0])
    assert [(value, label) for value, _, label in options] == [
        ("api", "api (https://api.leanvibe.example)"),
        ("backend", "backend (http://backend.leanvibe.example:8000)"),
        ("payments", "payments (https://api.stripe.com/v1/account)"),
    ]
    assert [value for value, selected, _ in options if selected] == ["payments"]
    for action in Action.objects.filter(
        kind__in=["http_probe", "http_request", "dependency_check"]
    ):
        assert f'name="a{action.pk}-url"' not in html
        assert f'name="a{action.pk}-credential_env"' not in html
    probe_page = sre_client.get("/runbooks/high-api-response-time").content.decode()
    probe = Action.objects.get(step__runbook__name="high-api-response-time", kind="http_probe")
    assert f'name="a{probe.pk}-path" value="/health/db"' in probe_page
    assert '<option value="backend" selected>' in probe_page


def test_it_says_plainly_when_neo4j_is_not_configured(sre_client, playbook, settings):
    settings.NEO4J_URL = ""
    html = sre_client.get("/runbooks/Neo4jHighConnections").content.decode()
    assert 'data-testid="neo4j-not-configured"' in html


def test_it_answers_404_for_an_unknown_runbook(sre_client, playbook):
    assert sre_client.get("/runbooks/NoSuchAlert").status_code == 404


def test_it_keeps_business_staff_out_of_every_runbook_endpoint(business_client, sre, playbook):
    action = Action.objects.get(step__runbook__name="HighCPUUsage", kind="k8s_scale")
    from django.utils import timezone

    run = ActionRun.objects.create(
        action=action,
        runbook_name="HighCPUUsage",
        action_label=action.label,
        kind=action.kind,
        parameters={},
        status="awaiting_approval",
        requested_by=sre,
        requested_at=timezone.now(),
    )
    gets = ["/runbooks/", "/runbooks/HighCPUUsage", "/runbooks/audit", f"/runbooks/runs/{run.pk}"]
    for url in gets:
        assert business_client.get(url).status_code == 403, url
    posts = [reverse("runbooks:run-action", args=[a.pk]) for a in Action.objects.all()] + [
        f"/runbooks/runs/{run.pk}/approve",
        f"/runbooks/runs/{run.pk}/cancel",
    ]
    for url in posts:
        assert business_client.post(url, {"mode": "run"}).status_code == 403, url
    assert ActionRun.objects.count() == 1
    run.refresh_from_db()
    assert run.status == "awaiting_approval"


def test_it_links_each_dashboard_check_to_its_runbook_with_the_labels(
    sre_client, business_client, playbook, settings
):
    from alerts.models import Check, Threshold

    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    Check.objects.create(
        threshold=Threshold.objects.get(key="api_p95_latency.enterprise"),
        labels={"tenant_tier": "enterprise"},
        signature="enterprise",
    )
    html = sre_client.get("/d/leanvibe-overview", HTTP_HX_REQUEST="true").content.decode()
    assert 'href="/runbooks/LeanVibeHighResponseTime?tenant_tier=enterprise"' in html
    business = business_client.get("/d/leanvibe-overview", HTTP_HX_REQUEST="true")
    assert "/runbooks/" not in business.content.decode()
