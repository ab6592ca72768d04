"""The alerts and thresholds sections of the playbook: the real file holds every threshold and
alert of the playbook, and a bad threshold is refused with its line and field."""

from __future__ import annotations

import pytest

from alerts.playbook import PLAYBOOK_ALERTS
from controlpanel.playbook import DEFAULT_PATH, load, parse
from core.playbook_reader import PlaybookError

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


def test_it_refuses_a_scope_label_the_metric_does_not_have():
    text = GOOD.replace(
        "    alert: LeanVibeHighErrorRate\n    direction",
        "    alert: LeanVibeHighErrorRate\n    scope: {tenant_tier: team}\n    direction",
    )
    assert any("api_error_rate has no 'tenant_tier' label" in p for p in problems_of(text))


def test_it_requires_the_playbooks_own_alerts_and_dashboards():
    text = GOOD.replace("LowTenantSignupRate", "LowSignups")
    assert "alerts: the playbook's alert LowTenantSignupRate is missing" in " ".join(
        p.split(": ", 1)[1] for p in problems_of(text)
    )
