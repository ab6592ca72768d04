"""The demo against a real Prometheus: the backfilled history answers the playbook's
week-over-week and month-over-month questions and joins the live series without a reset, and
a latency spike moves the enterprise p95 until the backend is scaled to six."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from kubernetes import client, config

from alerts.cycle import evaluate_cycle
from alerts.models import Check, StateChange, Threshold
from core.choices import State
from demo import kube, workload
from demo.backfill import PAST_INCIDENTS, PastIncident, backfill
from demo.kube.resources import START_SECONDS
from demo.model import DAY
from tests import services
from tuning import backtest

pytestmark = pytest.mark.services


def query(prometheus: services.Service, expr: str) -> list[dict]:
    url = f"{prometheus.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]["result"]


def value(prometheus: services.Service, expr: str) -> float | None:
    result = query(prometheus, expr)
    return float(result[0]["value"][1]) if result else None


def wait_for(predicate, timeout: float = 30, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


def scrape_config(port: int, interval: str = "1s") -> str:
    return yaml.safe_dump(
        {
            "global": {"scrape_interval": interval},
            "scrape_configs": [
                {
                    "job_name": "demo",
                    "honor_labels": True,
                    "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
                }
            ],
        }
    )


# An enterprise latency spike two days ago, half an hour long, besides the usual incidents.
SPIKE = PastIncident("latency_spike", 2, 30, (("tenant_tier", "enterprise"),))


@pytest.fixture(scope="module")
def backfilled_at() -> float:
    """When the history was written (at the module's start: the live series must follow it
    within two steps)."""
    return time.time()


@pytest.fixture(scope="module")
def history(tmp_path_factory, backfilled_at: float) -> Path:
    """Four days of history (enough for the cache degradation three days ago)."""
    var_dir = tmp_path_factory.mktemp("var")
    result = backfill(
        var_dir,
        days=4,
        redis_exporter_port=9121,
        now=backfilled_at,
        incidents=(*PAST_INCIDENTS, SPIKE),
    )
    assert result.startswith("backfilled 4.0 days")
    return var_dir


@pytest.fixture(scope="module")
def live(history: Path):
    """The workload continuing from the backfill's state, and Prometheus over that history."""
    env = workload.DemoEnvironment(history / "demo" / "state.json")
    port = services.free_port()
    server = workload.serve(env, "127.0.0.1", port)
    data_dir = history / "prometheus"
    # Prometheus keeps its blocks in data_dir/data, where the backfill wrote them.
    prometheus = services.prometheus(data_dir, scrape_config(port)).start()
    yield env, prometheus
    prometheus.stop()
    server.shutdown()
    env.stop()


def test_it_answers_offsets_and_long_increases_right_after_start(live):
    _, prometheus = live
    assert value(prometheus, "sum(active_tenants_total offset 3d)") > 1000
    assert value(prometheus, "sum(increase(tenant_signups_total[3d]))") > 50
    assert value(prometheus, "sum(monthly_recurring_revenue_usd offset 2d)") > 250_000
    assert value(prometheus, "sum(rate(http_requests_total[5m] offset 1d))") > 150


def test_it_keeps_the_past_incident_in_the_history(live):
    _, prometheus = live
    worst = value(
        prometheus,
        "min_over_time((sum(rate(redis_keyspace_hits_total[5m])) / "
        "(sum(rate(redis_keyspace_hits_total[5m])) + "
        "sum(rate(redis_keyspace_misses_total[5m]))))[4d:10m])",
    )
    assert worst < 0.7


def test_it_joins_history_and_live_values_without_a_reset_or_a_gap(live):
    _, prometheus = live
    series = 'http_requests_total{tenant_tier="enterprise",endpoint="/api/v1/search",status="200"}'
    assert wait_for(lambda: value(prometheus, f"count_over_time({series}[30s])"), 20)
    assert value(prometheus, f"resets({series}[1d])") == 0
    # The last backfilled sample is at most two steps old when the live ones start.
    assert value(prometheus, f"count_over_time({series}[5m])") >= 2
    assert value(prometheus, f"rate({series}[5m])") > 10


@pytest.mark.django_db
def test_it_breaches_enterprise_latency_in_a_spike_and_returns_to_ok_after_it(
    live, settings, backfilled_at
):
    """The evaluation cycle replayed over the backfilled spike, a cycle every 15 s as in the
    demo: breached within three cycles of the start, ok again once the 5-minute rate window
    has left the spike behind."""
    _, prometheus = live
    settings.PROMETHEUS_URL = prometheus.url
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    signature = 'api_p95_latency.enterprise{tenant_tier="enterprise"}'
    spike_start = backfilled_at - 30 - SPIKE.days_ago * DAY  # the backfill ends 30 s before
    spike_end = spike_start + SPIKE.minutes * 60

    def states(start: float, cycles: int) -> list[str]:
        seen = []
        for i in range(cycles):
            evaluate_cycle(now=start + 15 * i)
            seen.append(Check.objects.get(signature=signature).state)
        return seen

    assert set(states(spike_start - 600, 4)) == {State.OK}
    # The backfill samples every 2 minutes; the spike shows from the first sample inside it.
    during = states(spike_start + 120, 3)
    assert during[-1] in State.BREACHED, during
    after = states(spike_end + 6 * 60 + 120, 4)
    assert after[-1] == State.OK, after
    changes = list(
        StateChange.objects.filter(check_obj__signature=signature)
        .order_by("at")
        .values_list("from_state", "to_state")
    )
    # the first cycle turns the new check from no_data to ok
    assert changes[0] == (State.NO_DATA, State.OK), changes
    assert changes[1][1] in State.BREACHED and changes[-1][1] == State.OK, changes


@pytest.mark.django_db
def test_it_backtests_a_proposed_threshold_over_the_history(live, settings, admin_client):
    """The change form's backtest over four days of demo history: the cache degradation three
    days ago goes critical with the playbook's levels, and a warning raised to 99.5 % would
    have been breached far longer. A table and a chart with both thresholds."""
    _, prometheus = live
    settings.PROMETHEUS_URL = prometheus.url
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    threshold = Threshold.objects.get(key="redis_hit_rate")
    page = admin_client.get(f"/admin/alerts/threshold/{threshold.pk}/change/").content.decode()
    url = f"/admin/alerts/threshold/{threshold.pk}/backtest/"
    assert url in page
    params = {"direction": "below", "warning": "99.5", "critical": "70"}
    params |= {"for_warning": "5m", "for_critical": "5m"}
    response = admin_client.get(url, params)
    fragment = response.content.decode()
    assert 'data-testid="backtest-table"' in fragment and 'id="backtest-figure"' in fragment
    windows = {label: (now, then) for label, now, then in response.context["outcome"].windows}
    now, then = windows["7 days"]
    assert now.entered["critical"] >= 1  # the incident three days ago: 70 % and below
    # a warning at 99.5 % is breached far more often, and longer, than the playbook's 85 %
    assert then.seconds["warning"] + then.seconds["critical"] > (
        now.seconds["warning"] + now.seconds["critical"]
    )
    figure = response.context["figure"]
    labels = [re.sub(r"<[^>]+>", "", a["text"]) for a in figure["layout"]["annotations"]]
    assert sorted(labels) == [
        "critical (unchanged) 70 %",
        "current warning 85 %",
        "proposed warning 99.5 %",
    ]


@pytest.mark.django_db
def test_it_backtests_a_tier_from_its_own_series_as_from_all_of_them(live, settings):
    """The enterprise p95 threshold backtests from the scoped query (a third of the buckets):
    the same states, counts and chart as from the whole query filtered to the tier, spike
    included."""
    _, prometheus = live
    settings.PROMETHEUS_URL = prometheus.url
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    threshold = Threshold.objects.select_related("metric").get(key="api_p95_latency.enterprise")
    metric = threshold.metric
    scoped = metric.query_for(threshold.scope)
    assert 'http_request_duration_seconds_bucket{tenant_tier="enterprise"}' in scoped
    assert value(prometheus, f"count({scoped})") == 1  # one tier's answer, not three
    now = time.time()
    narrow = backtest.backtest(threshold, threshold.rule(), now=now)
    template, metric.scoped_query = metric.scoped_query, ""
    wide = backtest.backtest(threshold, threshold.rule(), now=now)
    assert narrow.error == wide.error == ""
    assert narrow.windows == wide.windows and narrow.series == wide.series
    _, spiked, _ = narrow.windows[1]  # 7 days
    assert spiked.entered[State.WARNING] + spiked.entered[State.CRITICAL] >= 1
    # a scoped query that sums the tier away answers with series no scope can match
    metric.scoped_query = template.replace("by (le, tenant_tier)", "by (le)")
    lost = backtest.backtest(threshold, threshold.rule(), now=now)
    assert lost.error == (
        "the metric's scoped query answers without the scope's labels (tenant_tier); "
        "its series must keep them"
    )


def test_it_moves_enterprise_latency_until_the_backend_scales_to_six(tmp_path):
    env = workload.DemoEnvironment(tmp_path / "state.json")
    port, kube_port = services.free_ports(2)
    server = workload.serve(env, "127.0.0.1", port)
    kube_server = kube.serve(env.cluster, "127.0.0.1", kube_port)
    prometheus = services.prometheus(tmp_path, scrape_config(port)).start()
    p95 = (
        "histogram_quantile(0.95, sum by (le)(rate(http_request_duration_seconds_bucket"
        '{tenant_tier="enterprise"}[5s])))'
    )
    try:
        assert wait_for(lambda: (value(prometheus, p95) or 1) < 0.2, 20)
        env.start_scenario("latency_spike", 10, {"tenant_tier": "enterprise"})
        assert wait_for(lambda: (value(prometheus, p95) or 0) > 0.2, 20)
        (tmp_path / "kubeconfig").write_text(kube.kubeconfig(f"http://127.0.0.1:{kube_port}"))
        api = config.new_client_from_config(config_file=str(tmp_path / "kubeconfig"))
        client.AppsV1Api(api).patch_namespaced_deployment_scale(
            "leanvibe-backend", "leanvibe-production", {"spec": {"replicas": 6}}
        )
        time.sleep(START_SECONDS)
        assert wait_for(lambda: (value(prometheus, p95) or 1) < 0.2, 30)
    finally:
        prometheus.stop()
        server.shutdown()
        kube_server.shutdown()
        env.stop()
