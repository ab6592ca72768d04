"""The playbook file as a whole: read with every problem at once, duplicate keys refused, and
loaded into the database idempotently, keeping tuned thresholds, or not at all."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from alerts.models import Alert, Threshold
from controlpanel.playbook import DEFAULT_PATH, parse
from core.playbook_reader import PlaybookError
from metrics.models import Dashboard, Metric

GOOD = DEFAULT_PATH.read_text()


def problems_of(text: str) -> list[str]:
    with pytest.raises(PlaybookError) as caught:
        parse(text)
    return caught.value.problems


def test_it_refuses_duplicate_keys_that_yaml_would_overwrite():
    text = GOOD.replace("  api_throughput:\n", "  api_throughput:\n    unit: rps\n", 1)
    assert any("duplicate key 'unit'" in p for p in problems_of(text))


def test_it_reports_every_problem_at_once():
    text = GOOD.replace("for: 2m", "for: soon").replace(
        "direction: above\n    warning: 85", "direction: sideways\n    warning: 85"
    )
    assert len(problems_of(text)) == 2


def test_it_says_when_the_file_is_not_yaml():
    [problem] = problems_of("metrics: [unclosed")
    assert problem.startswith("not valid YAML")


@pytest.mark.django_db
def test_it_loads_every_metric_threshold_alert_and_dashboard(capsys):
    call_command("load_playbook")
    assert Metric.objects.count() == 27
    assert Threshold.objects.count() == 18
    assert Alert.objects.filter(name="LeanVibeHighResponseTime").exists()
    assert list(Dashboard.objects.values_list("slug", flat=True)) == [
        "leanvibe-overview",
        "kubernetes-overview",
        "business-metrics",
        "database-performance",
    ]
    overview = Dashboard.objects.get(slug="leanvibe-overview")
    assert [p.metric.key for p in overview.panels.all()] == [
        "api_throughput",
        "api_p95_latency",
        "api_error_rate",
        "active_tenants",
        "mrr",
    ]
    assert capsys.readouterr().out.startswith("63 created, 0 updated")


@pytest.mark.django_db
def test_it_changes_nothing_the_second_time(capsys):
    call_command("load_playbook")
    capsys.readouterr()
    call_command("load_playbook")
    assert capsys.readouterr().out == "0 created, 0 updated\n"


@pytest.mark.django_db
def test_it_keeps_a_tuned_threshold_and_says_so(capsys, tmp_path):
    call_command("load_playbook")
    Threshold.objects.filter(key="api_error_rate").update(warning=2.0)
    changed = tmp_path / "playbook.yaml"
    changed.write_text(
        DEFAULT_PATH.read_text().replace(
            "    warning: 1\n    critical: 5\n    for: 2m",
            "    warning: 1.5\n    critical: 5\n    for: 2m",
        )
    )
    capsys.readouterr()
    call_command("load_playbook", str(changed))
    threshold = Threshold.objects.get(key="api_error_rate")
    assert threshold.warning == 2.0
    assert threshold.playbook_values["warning"] == 1.5
    assert (
        "kept tuned value: api_error_rate: {'warning': 2.0} (the playbook says "
        "{'warning': 1.5})" in capsys.readouterr().out
    )


@pytest.mark.django_db
def test_it_follows_the_playbook_for_untuned_thresholds(tmp_path):
    call_command("load_playbook")
    changed = tmp_path / "playbook.yaml"
    changed.write_text(DEFAULT_PATH.read_text().replace("    warning: 85\n", "    warning: 88\n"))
    call_command("load_playbook", str(changed))
    assert Threshold.objects.get(key="redis_hit_rate").warning == 88


@pytest.mark.django_db
def test_it_loads_nothing_from_a_file_with_a_problem(tmp_path):
    broken = tmp_path / "playbook.yaml"
    broken.write_text(DEFAULT_PATH.read_text().replace("for: 2m", "for: soon"))
    with pytest.raises(CommandError, match=r"(?s)Nothing was loaded\.\n.*line \d+: thresholds"):
        call_command("load_playbook", str(broken))
    assert Metric.objects.count() == 0


@pytest.mark.django_db
def test_it_says_which_file_it_cannot_read(tmp_path):
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("load_playbook", str(tmp_path / "missing.yaml"))
