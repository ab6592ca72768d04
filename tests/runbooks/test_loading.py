"""Runbooks as data: the playbook file holds one for every alert (the reader refuses a
playbook without), the guides and the log patterns; loading is idempotent and keeps an
administrator's edits when the file did not change."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

from alerts.models import Alert
from alerts.playbook import PLAYBOOK_ALERTS
from controlpanel.playbook import DEFAULT_PATH, load, parse
from core.playbook_reader import PlaybookError
from runbooks.kinds import KINDS
from runbooks.models import Action, Runbook

GOOD = DEFAULT_PATH.read_text()


def problems_of(text: str) -> list[str]:
    with pytest.raises(PlaybookError) as caught:
        parse(text)
    return caught.value.problems


def test_it_has_a_runbook_for_every_alert_guide_and_the_log_patterns():
    playbook = load()
    assert set(playbook.alerts) <= set(playbook.runbooks)
    assert set(PLAYBOOK_ALERTS) <= set(playbook.runbooks)
    kinds = [r.kind for r in playbook.runbooks.values()]
    assert kinds.count("guide") == 3 and kinds.count("logs") == 1


def test_it_gives_the_playbooks_time_boxes_and_an_action_to_every_step():
    playbook = load()
    first = playbook.runbooks["LeanVibeHighResponseTime"].steps
    assert [(s.title, s.time_box) for s in first] == [
        ("Immediate Assessment", "2m"),
        ("Investigation", "5m"),
        ("Immediate Actions", ""),
    ]
    for runbook in playbook.runbooks.values():
        for step in runbook.steps:
            assert step.actions, (runbook.name, step.title)
            assert all(a.kind in KINDS for a in step.actions)


def test_it_refuses_an_alert_without_a_runbook_with_its_line():
    start = GOOD.index("  BackupMissing:\n    kind: alert")
    end = GOOD.index("  high-api-response-time:")
    problems = problems_of(GOOD[:start] + GOOD[end:])
    assert any("alert BackupMissing has no runbook" in p for p in problems)


def test_it_names_the_line_of_an_unknown_action_kind():
    text = GOOD.replace("          - kind: redis_ping\n", "          - kind: redis_pong\n", 1)
    [problem] = problems_of(text)
    line = text.splitlines().index("          - kind: redis_pong") + 1
    assert problem.startswith(f"line {line}: runbooks.LeanVibeHighErrorRate.steps[2].actions[2]")
    assert "unknown kind 'redis_pong'" in problem


def test_it_refuses_an_unknown_parameter_and_a_bad_time_box():
    text = GOOD.replace("params: {target: api, path: /health}", "params: {uri: x}", 1)
    text = text.replace("time_box: 2m", "time_box: two minutes", 1)
    problems = " ".join(problems_of(text))
    assert "unknown parameter 'uri' for http_probe" in problems
    assert "time_box is 'two minutes'" in problems


PROBE = "            params: {target: api, path: /health}"
DEPENDENCY = "            params: {target: payments}"


@pytest.mark.parametrize(
    ("original", "written", "spot", "expected"),
    [
        (
            PROBE,
            '            params: {url: "http://127.0.0.1:9/steal"}',
            "LeanVibeHighResponseTime.steps[1].actions[1]",
            "unknown parameter 'url' for http_probe; name a target",
        ),
        (
            PROBE,
            '            params: {target: "http://127.0.0.1:9", path: /health}',
            "LeanVibeHighResponseTime.steps[1].actions[1]",
            "target is 'http://127.0.0.1:9': name a configured target (api, backend, payments), "
            "not a URL",
        ),
        (
            PROBE,
            '            params: {target: api, path: "http://127.0.0.1:9/health"}',
            "LeanVibeHighResponseTime.steps[1].actions[1]",
            "path is 'http://127.0.0.1:9/health': a path on the target's host (/health), not a URL",
        ),
        (
            PROBE,
            "            params: {target: api, path: /../admin}",
            "LeanVibeHighResponseTime.steps[1].actions[1]",
            "path is '/../admin': no ..",
        ),
        (
            DEPENDENCY,
            "            params: {target: stripe}",
            "LeanVibeHighErrorRate.steps[2].actions[3]",
            "target is 'stripe': no such target; expected one of api, backend, payments",
        ),
        (
            DEPENDENCY,
            "            params: {target: payments, credential_env: REDIS_URL}",
            "LeanVibeHighErrorRate.steps[2].actions[3]",
            "unknown parameter 'credential_env' for dependency_check; a target's credential is "
            "named in the settings",
        ),
    ],
    ids=["url", "url-as-target", "url-as-path", "dotdot-path", "unknown-target", "credential-env"],
)
def test_it_refuses_a_url_a_variable_or_an_unknown_target_with_its_line(
    original, written, spot, expected
):
    assert GOOD.count(original + "\n") >= 1
    text = GOOD.replace(original + "\n", written + "\n", 1)
    [problem] = problems_of(text)
    line = text.splitlines().index(written) + 1
    assert problem.startswith(f"line {line}: runbooks.{spot}: "), problem
    assert expected in problem


def test_it_names_only_configured_targets_in_the_playbook(settings):
    playbook = load()
    named = {
        a.params["target"]
        for r in playbook.runbooks.values()
        for s in r.steps
        for a in s.actions
        if "target" in a.params
    }
    assert named == {"api", "backend", "payments"} <= set(settings.RUNBOOK_HTTP_TARGETS)
    settings.RUNBOOK_HTTP_TARGETS = {"api": settings.RUNBOOK_HTTP_TARGETS["api"]}
    problems = problems_of(GOOD)
    assert len(problems) == 2 and all("no such target; expected one of api" in p for p in problems)


@pytest.mark.django_db
def test_it_loads_runbooks_linked_to_their_alerts_and_changes_nothing_the_second_time(capsys):
    call_command("load_playbook")
    first = capsys.readouterr().out
    assert "runbook LeanVibeHighResponseTime created" in first
    assert Runbook.objects.filter(alert__isnull=False).count() == Alert.objects.count() == 14
    assert Runbook.objects.count() == 18
    call_command("load_playbook")
    assert capsys.readouterr().out == "0 created, 0 updated\n"


@pytest.mark.django_db
def test_it_keeps_an_administrators_edit_until_the_file_changes(tmp_path):
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    action = Action.objects.get(step__runbook__name="HighCPUUsage", kind="k8s_scale")
    action.parameters = {**action.parameters, "replicas": 8}
    action.save()
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    action.refresh_from_db()
    assert action.parameters["replicas"] == 8
    changed = tmp_path / "playbook.yaml"
    changed.write_text(GOOD.replace("title: High CPU usage", "title: CPU usage high", 1))
    call_command("load_playbook", str(changed), stdout=open(os.devnull, "w"))  # noqa: SIM115
    action.refresh_from_db()
    assert action.parameters["replicas"] == 6
    assert Runbook.objects.get(name="HighCPUUsage").title == "CPU usage high"
