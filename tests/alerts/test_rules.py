"""Rule export: the thresholds as Prometheus alerting rules that promtool accepts, that its
unit tests prove fire the right alert, severity and tier, and that a real Prometheus fires
during the matching demo scenario. After a tuning change the rule file is rewritten and
Prometheus reloads it."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from alerts.cycle import evaluate_cycle
from alerts.models import Check, Threshold
from alerts.playbook import PLAYBOOK_ALERTS
from alerts.rules_export import RULE_FILE_NAME, export_rules, render
from alerts.tasks import publish_rules
from metrics.models import Metric
from tests import services
from tests.conftest import running_demo

pytestmark = pytest.mark.django_db

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"
PLAYBOOK_NAMES = set(PLAYBOOK_ALERTS)  # the seven alert names the playbook itself uses


@pytest.fixture
def loaded(settings):
    settings.PANEL_URL = "http://127.0.0.1:8000"
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115


def exported() -> str:
    out = StringIO()
    call_command("export_rules", stdout=out)
    return out.getvalue()


def query(url: str, expr: str) -> list[dict]:
    params = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=10) as response:
        return json.load(response)["data"]["result"]


def test_it_exports_the_playbook_alert_names_in_promtool_valid_rules(loaded, tmp_path):
    text = exported()
    path = tmp_path / "rules.yml"
    path.write_text(text)
    check = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    rules = [r for g in yaml.safe_load(text)["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= PLAYBOOK_NAMES
    # one rule per threshold and severity, with the template's labels and annotations
    assert len(rules) == 2 * Threshold.objects.count()
    enterprise = next(
        r
        for r in rules
        if r["labels"].get("tenant_tier") == "enterprise" and r["labels"]["severity"] == "critical"
    )
    assert enterprise["alert"] == "LeanVibeHighResponseTime"
    assert enterprise["for"] == "0s"
    assert enterprise["labels"]["service"] == "leanvibe-backend"
    assert "$value" in enterprise["annotations"]["description"]
    assert enterprise["annotations"]["runbook_url"] == (
        "http://127.0.0.1:8000/runbooks/LeanVibeHighResponseTime"
    )
    cpu = [
        r for r in rules if r["alert"] == "HighCPUUsage" and r["labels"]["threshold"] == "node_cpu"
    ]
    assert {r["labels"]["severity"]: r["for"] for r in cpu} == {"warning": "10m", "critical": "5m"}


def test_it_keeps_the_committed_rules_what_the_playbook_exports(loaded):
    """promtool's unit tests run against deploy/prometheus/rules/leanvibe.rules.yml: it must be
    the export of the playbook's thresholds, or they would prove an old file. To refresh it:
    manage.py export_rules --output deploy/prometheus/rules/leanvibe.rules.yml"""
    assert (RULES_DIR / "leanvibe.rules.yml").read_text() == exported()


def test_it_passes_the_promtool_unit_tests_for_every_alert_severity_and_tier():
    files = sorted(RULES_DIR.glob("*.test.yml"))
    assert len(files) == 2
    result = subprocess.run(
        ["promtool", "test", "rules", *map(str, files)],
        capture_output=True,
        text=True,
        cwd=RULES_DIR,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    tested = {
        line.split("alertname: ")[1].strip()
        for f in files
        for line in f.read_text().splitlines()
        if "alertname: " in line
    }
    rules = yaml.safe_load((RULES_DIR / "leanvibe.rules.yml").read_text())
    assert tested == {r["alert"] for g in rules["groups"] for r in g["rules"]}  # every alert


@pytest.mark.services
def test_it_fires_the_enterprise_response_time_alert_in_a_real_prometheus(
    loaded, tmp_path, settings, sre_client
):
    rule_file = tmp_path / RULE_FILE_NAME
    rule_file.write_text(render(export_rules()))
    extra = {
        "rule_files": [str(rule_file)],
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
    }
    with running_demo(tmp_path, extra) as (env, prometheus):
        env.start_scenario("latency_spike", 10, {"tenant_tier": "enterprise"})  # type: ignore[attr-defined]
        firing = 'ALERTS{alertname="LeanVibeHighResponseTime", alertstate="firing"}'
        deadline = time.monotonic() + 60
        found: list[dict] = []
        while time.monotonic() < deadline and not found:
            found = query(prometheus.url, firing)
            time.sleep(1)
        assert found, "no LeanVibeHighResponseTime alert fired within a minute"
        labels = [r["metric"] for r in found]
        assert {label["tenant_tier"] for label in labels} == {"enterprise"}
        assert {label["severity"] for label in labels} <= {"warning", "critical"}
        assert all(label["threshold"] == "api_p95_latency.enterprise" for label in labels)
        assert not query(prometheus.url, 'ALERTS{alertname="LeanVibeHighErrorRate"}')

        # The rules page: every rule loaded and healthy, and the panel's own evaluation of the
        # enterprise check set beside what Prometheus holds for it.
        settings.PROMETHEUS_URL = prometheus.url
        evaluate_cycle()
        response = sre_client.get("/alerts/rules")
        page = response.content.decode()
        assert page.count('data-health="ok"') == 2 * Threshold.objects.count()
        assert "all healthy" in page
        by_signature = {c.check.signature: c for c in response.context["comparisons"]}
        enterprise = by_signature['api_p95_latency.enterprise{tenant_tier="enterprise"}']
        assert enterprise.prometheus in ("warning", "critical")
        assert enterprise.panel in ("warning", "critical")
        team = by_signature['api_p95_latency.team{tenant_tier="team"}']
        assert (team.panel, team.prometheus, team.verdict) == ("ok", "ok", "agree")


@pytest.mark.services
def test_it_rewrites_the_rule_file_and_reloads_prometheus_after_a_change(
    loaded, tmp_path, settings
):
    settings.PROMETHEUS_RULES_DIR = tmp_path / "rules"
    config = yaml.safe_dump(
        {"global": {"evaluation_interval": "1s"}, "rule_files": [str(tmp_path / "rules" / "*.yml")]}
    )
    prometheus = services.prometheus(tmp_path, config).start()
    try:
        settings.PROMETHEUS_URL = prometheus.url
        Threshold.objects.filter(key="api_error_rate").update(warning=2.5)
        assert publish_rules() == "reloaded"
        with urllib.request.urlopen(f"{prometheus.url}/api/v1/rules", timeout=10) as response:
            groups = json.load(response)["data"]["groups"]
        queries = [r["query"] for g in groups for r in g["rules"]]
        assert len(queries) == 2 * Threshold.objects.count()
        assert any('5.."}' in q and "> 2.5" in q for q in queries), queries
    finally:
        prometheus.stop()


def test_it_says_when_prometheus_cannot_reload(loaded, tmp_path, settings):
    settings.PROMETHEUS_RULES_DIR = tmp_path
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{services.free_port()}"
    outcome = publish_rules()
    assert outcome == "reload failed: unreachable: connection refused"
    assert (tmp_path / RULE_FILE_NAME).exists()


def test_it_says_when_prometheus_cannot_list_its_rules(loaded, sre_client, settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{services.free_port()}"
    page = sre_client.get("/alerts/rules").content.decode()
    assert 'data-testid="rules-error"' in page and "unreachable" in page
    assert 'data-testid="agreement"' not in page


def test_it_offers_the_rule_file_for_download(loaded, sre_client):
    response = sre_client.get("/alerts/rules.yml")
    assert response["Content-Disposition"] == 'attachment; filename="leanvibe.rules.yml"'
    assert response.content.decode() == exported()


def test_it_compares_nothing_when_prometheus_runs_none_of_the_rules(
    loaded, sre_client, settings, prometheus_server
):
    settings.PROMETHEUS_URL = prometheus_server.url  # no rule files
    Check.objects.create(
        threshold=Threshold.objects.get(key="api_error_rate"), signature="e", state="ok"
    )
    response = sre_client.get("/alerts/rules")
    assert [c.verdict for c in response.context["comparisons"]] == ["cannot compare"]
    page = response.content.decode()
    assert "Nothing to compare" in page and "all healthy" not in page


def test_it_exports_levels_exactly(loaded):
    Threshold.objects.filter(key="api_throughput").update(warning=1234567.5, critical=0.125)
    text = exported()
    assert "< 1234567.5" in text and "< 0.125" in text and "e+06" not in text


def test_it_writes_no_rule_file_promtool_refuses(loaded, tmp_path, settings):
    settings.PROMETHEUS_RULES_DIR = tmp_path
    (tmp_path / RULE_FILE_NAME).write_text("groups: []\n")
    Metric.objects.filter(key="api_error_rate").update(query="sum(rate(x[5m]")  # a parse error
    outcome = publish_rules()
    assert outcome.startswith("not written: promtool refused the rules")
    assert (tmp_path / RULE_FILE_NAME).read_text() == "groups: []\n"  # left as it was
    assert [p.name for p in tmp_path.iterdir()] == [RULE_FILE_NAME]  # no temporary left
