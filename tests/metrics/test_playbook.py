"""The playbook as data: the real file holds every metric, threshold, alert and dashboard of
the playbook, its queries parse in a real Prometheus, and a bad file is refused whole with the
line of every problem."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from metrics.playbook import (
    DEFAULT_PATH,
    PLAYBOOK_ALERTS,
    PlaybookError,
    load,
    parse,
    scope_matchers,
)

PLAYBOOK = load()


def thresholds_by_key():
    return {t.key: t for t in PLAYBOOK.thresholds}


def test_it_holds_every_alert_the_playbook_names():
    assert set(PLAYBOOK_ALERTS) <= set(PLAYBOOK.alerts)
    assert {t.alert for t in PLAYBOOK.thresholds} == set(PLAYBOOK.alerts)


@pytest.mark.parametrize(
    ("key", "direction", "warning", "critical"),
    [
        ("api_p95_latency.enterprise", "above", 0.2, 0.5),
        ("api_p95_latency.team", "above", 0.5, 1.0),
        ("api_p95_latency.developer", "above", 1.0, 2.0),
        ("api_error_rate", "above", 1, 5),
        ("api_throughput", "below", 100, 10),
        ("node_cpu", "above", 80, 95),
        ("pod_cpu", "above", 80, 95),
        ("node_memory", "above", 80, 95),
        ("pod_memory", "above", 80, 95),
        ("disk_usage", "above", 85, 95),
        ("neo4j_connections", "above", 80, 95),
        ("neo4j_query_p95", "above", 0.5, 2.0),
        ("redis_hit_rate", "below", 85, 70),
        ("redis_memory", "above", 80, 95),
        ("active_tenants", "below", -10, -25),
        ("mrr", "below", -5, -15),
    ],
)
def test_it_has_each_playbook_threshold_with_its_values(key, direction, warning, critical):
    threshold = thresholds_by_key()[key]
    assert (threshold.direction, threshold.warning, threshold.critical) == (
        direction,
        warning,
        critical,
    )


def test_it_scopes_latency_per_tier_and_sustains_cpu_like_the_playbook():
    by_key = thresholds_by_key()
    assert by_key["api_p95_latency.enterprise"].scope == (("tenant_tier", "enterprise"),)
    assert (by_key["node_cpu"].for_warning, by_key["node_cpu"].for_critical) == ("10m", "5m")
    assert by_key["active_tenants"].relative_to == "7d"
    assert by_key["mrr"].relative_to == "30d"


def test_it_keeps_the_playbooks_text_beside_every_corrected_query():
    corrected = [m for m in PLAYBOOK.metrics.values() if m.playbook_query]
    assert {m.key for m in corrected} >= {
        "api_p95_latency",
        "api_error_rate",
        "neo4j_query_p95",
        "redis_hit_rate",
        "pod_memory",
    }
    assert all(m.query_note for m in corrected)
    p95 = PLAYBOOK.metrics["api_p95_latency"]
    assert "sum by (le, tenant_tier)" in p95.query


def test_it_has_the_four_dashboards_with_the_playbooks_panels():
    dashboards = PLAYBOOK.dashboards
    assert set(dashboards) == {
        "leanvibe-overview",
        "kubernetes-overview",
        "business-metrics",
        "database-performance",
    }
    overview = [p.title for p in dashboards["leanvibe-overview"].panels]
    assert overview == [
        "API Request Rate",
        "Response Time (95th percentile)",
        "Error Rate",
        "Active Tenants",
        "Monthly Recurring Revenue",
    ]
    assert dashboards["kubernetes-overview"].audience == ("sre",)
    assert set(dashboards["business-metrics"].audience) == {"sre", "business"}


@pytest.mark.services
def test_it_has_only_queries_a_real_prometheus_accepts(prometheus_server):
    queries = [q for m in PLAYBOOK.metrics.values() for q in (m.query, m.volume_query) if q]
    queries += [  # each scoped query with a scope put in
        m.scoped_query.replace("$scope", scope_matchers(dict.fromkeys(m.group_by, "team")))
        for m in PLAYBOOK.metrics.values()
        if m.scoped_query
    ]
    rejected = {}
    for query in queries:
        url = f"{prometheus_server.url}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                assert json.load(response)["status"] == "success"
        except urllib.error.HTTPError as error:
            rejected[query] = json.load(error).get("error")
    assert rejected == {}


GOOD = DEFAULT_PATH.read_text()


def problems_of(text: str) -> list[str]:
    with pytest.raises(PlaybookError) as caught:
        parse(text)
    return caught.value.problems


def test_it_names_the_line_of_an_unknown_metric():
    text = GOOD.replace(
        "    metric: api_error_rate\n    alert: LeanVibeHighErrorRate",
        "    metric: api_eror_rate\n    alert: LeanVibeHighErrorRate",
    )
    [problem] = problems_of(text)
    line = text.splitlines().index("    metric: api_eror_rate") + 1
    assert problem.startswith(f"line {line}: thresholds[api_error_rate].metric 'api_eror_rate'")


def test_it_refuses_warning_and_critical_in_the_wrong_order():
    text = GOOD.replace("    warning: 85\n    critical: 70", "    warning: 70\n    critical: 85")
    [problem] = problems_of(text)
    assert "critical (85) must lie below warning (70)" in problem


def test_it_refuses_a_duration_it_cannot_read():
    text = GOOD.replace("for: 2m", "for: two minutes")
    [problem] = problems_of(text)
    line = text.splitlines().index("    for: two minutes") + 1
    assert problem == (
        f"line {line}: thresholds[api_error_rate].for is 'two minutes'; "
        "expected a duration like 30s, 5m, 1h or 7d"
    )


def test_it_refuses_duplicate_keys_that_yaml_would_overwrite():
    text = GOOD.replace("  api_throughput:\n", "  api_throughput:\n    unit: rps\n", 1)
    assert any("duplicate key 'unit'" in p for p in problems_of(text))


def test_it_refuses_a_scope_label_the_metric_does_not_have():
    text = GOOD.replace(
        "    alert: LeanVibeHighErrorRate\n    direction",
        "    alert: LeanVibeHighErrorRate\n    scope: {tenant_tier: team}\n    direction",
    )
    assert any("api_error_rate has no 'tenant_tier' label" in p for p in problems_of(text))


def test_it_refuses_a_scoped_query_that_does_not_say_where_the_scope_goes():
    text = GOOD.replace("(rate(http_request_duration_seconds_bucket{$scope}[5m])))", "(up))")
    [problem] = problems_of(text)
    line = text.splitlines().index("    scoped_query: >-") + 1
    assert problem == (
        f"line {line}: metrics.api_p95_latency.scoped_query must say where the scope goes ($scope)"
    )


def test_it_puts_a_scope_into_promql_strings_escaped():
    assert scope_matchers({"tier": 'a"b\\c', "env": "prod"}) == 'env="prod",tier="a\\"b\\\\c"'
    # PromQL refuses the surrogate pair JSON would write by default
    assert scope_matchers({"team": "caf\u00e9 \U0001f600"}) == 'team="caf\u00e9 \U0001f600"'


def test_it_refuses_a_changed_query_without_a_note():
    note = (
        "    query_note: Summed over a pod's containers (a pod is what gets scaled or restarted)."
    )
    text = GOOD.replace(f"{note}\n", "")
    assert any(
        "metrics.pod_cpu: a changed query needs a query_note" in p for p in problems_of(text)
    )


def test_it_reports_every_problem_at_once():
    text = GOOD.replace("for: 2m", "for: soon").replace(
        "direction: above\n    warning: 85", "direction: sideways\n    warning: 85"
    )
    assert len(problems_of(text)) == 2


def test_it_says_when_the_file_is_not_yaml():
    [problem] = problems_of("metrics: [unclosed")
    assert problem.startswith("not valid YAML")


def test_it_requires_the_playbooks_own_alerts_and_dashboards():
    text = GOOD.replace("LowTenantSignupRate", "LowSignups")
    assert "alerts: the playbook's alert LowTenantSignupRate is missing" in " ".join(
        p.split(": ", 1)[1] for p in problems_of(text)
    )
