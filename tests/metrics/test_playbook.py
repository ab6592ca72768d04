"""The metrics and dashboards sections of the playbook: the real file holds every metric and
dashboard of the playbook, its queries parse in a real Prometheus, and a mistake in a metric
is refused with its line."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from controlpanel.playbook import DEFAULT_PATH, load, parse
from core.playbook_reader import PlaybookError
from core.promql import scope_matchers

PLAYBOOK = load()


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
