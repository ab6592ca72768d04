"""Evidence against a real Prometheus over backfilled demo history: targets up (and one
down), the backup's age, the TSDB status, business KPIs week over week, 7-day trends and the
SLA report; and what an item says when Prometheus does not answer."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.utils import timezone

from checklists import actions, evidence, sla
from checklists.choices import Cadence
from checklists.evidence import kpis
from checklists.models import ChecklistRun
from demo import workload
from demo.backfill import PAST_INCIDENTS, PastIncident, backfill
from demo.model import DAY
from tests import services

pytestmark = pytest.mark.services

NOW = time.time()
# An enterprise latency spike a day ago, an hour long: the SLA report must see it.
SPIKE = PastIncident("latency_spike", 1, 60, (("tenant_tier", "enterprise"),))


def instant(url: str, expr: str, at: float | None = None) -> float:
    query = urllib.parse.urlencode({"query": expr, **({"time": at} if at is not None else {})})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=10) as response:
        return float(json.load(response)["data"]["result"][0]["value"][1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> tuple[str, int]:
    """Three days of demo history, the workload continuing live, Prometheus scraping it and
    one target that is down: (Prometheus URL, the dead target's port)."""
    var_dir: Path = tmp_path_factory.mktemp("var")
    result = backfill(
        var_dir, days=3, redis_exporter_port=None, now=NOW, incidents=(*PAST_INCIDENTS, SPIKE)
    )
    assert result.startswith("backfilled 3.0 days"), result
    env = workload.DemoEnvironment(var_dir / "demo" / "state.json")
    port, dead = services.free_ports(2)
    server = workload.serve(env, "127.0.0.1", port)
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "demo",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
            },
            {"job_name": "gone", "static_configs": [{"targets": [f"127.0.0.1:{dead}"]}]},
        ],
    }
    prometheus = services.prometheus(var_dir / "prometheus", yaml.safe_dump(config)).start()
    try:
        # Fail here, not in a later assert that makes no sense without scraped targets.
        deadline = time.monotonic() + 60
        while True:  # both targets scraped once
            url = f"{prometheus.url}/api/v1/targets"
            with urllib.request.urlopen(url, timeout=5) as response:
                found = json.load(response)["data"]["activeTargets"]
            if len(found) == 2 and all(t["health"] != "unknown" for t in found):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"Prometheus did not scrape both targets within 60 s: {found}")
            time.sleep(0.3)
        yield prometheus.url, dead
    finally:
        prometheus.stop()
        server.shutdown()
        env.stop()


@pytest.fixture
def prom(stack, settings, templates):
    settings.PROMETHEUS_URL = stack[0]
    settings.ALERTMANAGER_URL = "http://127.0.0.1:9"
    return stack


def test_it_reports_targets_up_and_down_with_their_scrape_age(prom):
    _, dead = prom
    result = evidence.dashboard_health(timezone.now())
    values = result.values
    assert (values["targets_total"], values["targets_up"]) == (2, 1)
    assert values["targets_down"] == [f"gone/127.0.0.1:{dead}"]
    assert 0 <= values["oldest_scrape_seconds"] < 10
    assert result.verdict == evidence.ATTENTION
    assert result.summary.startswith("1 of 2 targets up")


def test_it_reports_the_backup_age_prometheus_has(prom):
    url, _ = prom
    # One instant for both queries: a slow first query must not age the expected value.
    now = timezone.now()
    result = evidence.backup(now)
    expected = instant(
        url, "time() - max(leanvibe_backup_last_success_timestamp_seconds)", at=now.timestamp()
    )
    assert result.values["backup_age_seconds"] == pytest.approx(expected, abs=5)
    assert 0 < expected < 26 * 3600
    assert result.verdict == evidence.OK
    assert "Last successful backup" in result.summary


def test_it_reports_tsdb_status_and_kpis_and_trends(prom):
    url, _ = prom
    now = timezone.now()
    tsdb = evidence.monitoring_health(now)
    assert tsdb.values["head_series"] == pytest.approx(
        instant(url, "count({__name__=~'.+'})"), rel=0.2
    )
    assert tsdb.table.rows  # the biggest metrics by series
    # the demo writes 95 days of business history (the 90-day dashboards): a week back is
    # there, and compared with what Prometheus says for that moment
    week = evidence.business_trends(now)
    tenants = week.values["kpis"]["active_tenants"]
    then = (now - timedelta(days=7)).timestamp()
    assert tenants["now"] > 1000
    assert tenants["before"] == pytest.approx(instant(url, "sum(active_tenants_total)", then))
    assert week.verdict == evidence.OK
    # beyond the history, nothing is compared, which verifies nothing: not "ok"
    beyond = kpis._kpi_changes(now, 120, "120 days ago")
    assert beyond.values["kpis"]["active_tenants"]["before"] is None
    assert beyond.verdict == evidence.UNVERIFIED
    assert beyond.summary.startswith("No KPI could be compared with 120 days ago")
    trends = evidence.performance_capacity(now)
    assert trends.values["series"] >= 4  # p95 per tier, error rate, throughput
    assert any(row[0].startswith("API response time") for row in trends.table.rows)


def test_it_computes_the_sla_from_the_history(prom):
    now = timezone.now()
    month = timezone.localdate(now).replace(day=1)
    report = sla.build_report(month, now=now)
    assert not report.error
    tiers = {t.tier: t for t in report.tiers}
    assert set(tiers) == {"enterprise", "team", "developer"}
    enterprise = tiers["enterprise"]
    # The report covers the month so far, but the history only three days: on the 1st-3rd
    # the month starts after the history does, and the spike may lie in the month before.
    month_start, end, _ = sla.month_bounds(month, now)
    history_end = NOW - 30  # backfill() ends its history 30 s before its `now`
    start = max(month_start.timestamp(), history_end - 3 * DAY)
    # one interval per 5 minutes, give or take the edges
    assert enterprise.latency_intervals == pytest.approx(
        (end.timestamp() - start) / sla.STEP, abs=2
    )
    if history_end - SPIKE.days_ago * DAY >= month_start.timestamp():
        # the hour-long spike a day ago breached the enterprise threshold; team stayed within
        assert 0.9 < enterprise.latency_share < 0.995
        assert tiers["team"].latency_share > enterprise.latency_share
    assert 0.9 < tiers["team"].availability <= 1
    assert report.tiers[0].previous is not None


def test_it_stores_a_run_s_evidence_snapshot_with_real_values(prom, runs):
    daily = runs[Cadence.DAILY]
    snapshot = evidence.gather(daily)
    assert actions.store_evidence(daily, snapshot, actor=None)
    stored = ChecklistRun.objects.get(pk=daily.pk).evidence["items"]
    assert stored["backup"]["values"]["backup_age_seconds"] > 0
    assert stored["dashboard_health"]["values"]["targets_up"] == 1
    assert set(stored) == {"overnight_alerts", "dashboard_health", "backup", "business_trends"}


@pytest.mark.django_db
def test_it_says_an_item_cannot_be_verified_when_prometheus_does_not_answer(
    templates, runs, settings
):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{services.free_port()}"
    snapshot = evidence.gather(runs[Cadence.DAILY])
    assert snapshot["items"]["backup"]["verdict"] == evidence.ERROR
    assert snapshot["items"]["backup"]["summary"].startswith("Could not be verified")
    assert "backup" in snapshot["problems"] and evidence.is_incomplete(snapshot)
    # alerts come from the panel's own history and are still gathered
    assert snapshot["items"]["overnight_alerts"]["verdict"] == evidence.OK


@pytest.mark.django_db
def test_it_compares_each_kpi_it_has_values_for(templates, monkeypatch):
    """Two business KPIs answer now and a week ago, the others have no history: the item says
    how many of them it compared, and the change of each."""
    from integrations import prometheus

    def answers(jobs):
        values = {"sum(active_tenants_total)": 110.0, "sum(monthly_recurring_revenue_usd)": 90.0}
        return {
            (query, at): prometheus.QueryResult(
                query,
                (prometheus.Sample({}, values[query] if at > now.timestamp() - 60 else 100.0),)
                if query in values
                else (),
            )
            for query, at in jobs
        }

    now = timezone.now()
    monkeypatch.setattr(prometheus, "instant_queries", answers)
    week = evidence.business_trends(now)
    assert week.verdict == evidence.OK
    total = len(week.values["kpis"])
    assert week.summary == f"2 of {total} KPIs compared with a week ago."
    assert week.values["kpis"]["active_tenants"]["change_percent"] == pytest.approx(10)


def test_it_reads_a_stored_result_back_in_the_shape_it_was_stored():
    """Snapshots stored before the result was typed still render: reading a stored result
    and writing it again gives the same JSON, key for key and in the same order."""
    stored = {
        "verdict": "attention",
        "summary": "1 of 2 targets up; oldest scrape 3 s ago; evaluation lag 12 s.",
        "facts": [["Targets up", "1 of 2"], ["Oldest scrape", "3 s"]],
        "table": {"columns": ["Job", "Instance"], "rows": [["gone", "127.0.0.1:9"]]},
        "values": {"targets_up": 1, "targets_down": ["gone/127.0.0.1:9"]},
    }
    untabled = {"verdict": "unverified", "summary": "Not verifiable.", "facts": [], "values": {}}
    for row in (stored, untabled):
        assert json.dumps(evidence.Result.from_dict(row).to_dict()) == json.dumps(row)
    assert evidence.Result.from_dict(stored).verdict == evidence.ATTENTION
    # A table without rows is not stored: the page would offer "0 rows".
    empty = evidence.Result(evidence.OK, "Nothing.", table=evidence.Table(("Alert",), ()))
    assert "table" not in empty.to_dict()
