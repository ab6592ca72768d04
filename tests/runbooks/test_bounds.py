"""Every runbook action parameter that sizes work is bounded where it enters: each text has a
length limit, said beside its field and in the error; each number a range; NUL is refused;
and a refused form queues nothing. A run's output is cut in one place, whatever the kind, with
the cut said at the end of it. The sweep is over the table the panel runs with, so a kind added
later is swept too."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from runbooks import execution, executors
from runbooks.choices import RunStatus
from runbooks.forms import ActionForm
from runbooks.kinds import KINDS
from runbooks.models import ActionRun
from tests.runbooks.test_outbound import action_of, posted

pytestmark = pytest.mark.django_db

TEXT_PARAMS = [
    (kind.name, param.name)
    for kind in KINDS.values()
    for param in kind.params
    if param.type in ("text", "json", "regex", "path")
]
INT_PARAMS = [
    (kind.name, param.name)
    for kind in KINDS.values()
    for param in kind.params
    if param.type == "int" and param.name != "replicas"  # replicas: the settings' range
]


def _param(kind: str, name: str):
    return next(p for p in KINDS[kind].params if p.name == name)


def test_every_text_parameter_has_a_limit():
    assert TEXT_PARAMS, "the sweep found no text parameter"
    for kind, name in TEXT_PARAMS:
        assert 0 < _param(kind, name).max_length <= 10_000, (kind, name)


def test_every_number_that_sizes_work_has_a_range():
    assert INT_PARAMS
    for kind, name in INT_PARAMS:
        param = _param(kind, name)
        assert param.minimum is not None and param.maximum is not None, (kind, name)


@pytest.mark.parametrize(("kind", "name"), TEXT_PARAMS)
def test_it_says_each_texts_limit_beside_its_field(playbook, kind, name):
    act = action_of(kind)
    form = ActionForm(act, initial_values={})
    limit = _param(kind, name).max_length
    assert f"At most {limit:,} characters." in form.fields[name].help_text


@pytest.mark.parametrize(("kind", "name"), TEXT_PARAMS)
def test_it_refuses_an_over_long_text_and_queues_nothing(
    sre_client, playbook, run_on_commit, kind, name
):
    act = action_of(kind)
    limit = _param(kind, name).max_length
    too_long = "x" * (limit + 1)
    _, errors = executors.clean(kind, {name: too_long})
    assert errors[name] == f"At most {limit:,} characters (this is {limit + 1:,})."
    response = run_on_commit(
        sre_client.post,
        reverse("runbooks:run-action", args=[act.pk]),
        posted(act, **{name: too_long}),
    )
    assert response.status_code == 400
    assert f"At most {limit:,} characters" in response.content.decode()
    assert not ActionRun.objects.exists()


@pytest.mark.parametrize(("kind", "name"), TEXT_PARAMS)
def test_it_refuses_nul_in_a_text(playbook, kind, name):
    _, errors = executors.clean(kind, {name: "a\x00b"})
    assert errors[name] == "Null characters are not allowed."


@pytest.mark.parametrize(("kind", "name"), INT_PARAMS)
def test_it_refuses_a_number_out_of_its_range(sre_client, playbook, run_on_commit, kind, name):
    act = action_of(kind)
    param = _param(kind, name)
    form = ActionForm(act, initial_values={})
    assert f"From {param.minimum:,} to {param.maximum:,}." in form.fields[name].help_text
    for value in (param.minimum - 1, param.maximum + 1, 10**30):
        _, errors = executors.clean(kind, {name: str(value)})
        assert errors[name] == f"Between {param.minimum:,} and {param.maximum:,}.", value
        response = run_on_commit(
            sre_client.post,
            reverse("runbooks:run-action", args=[act.pk]),
            posted(act, **{name: value}),
        )
        assert response.status_code == 400, value
    for value in (param.minimum, param.maximum):
        _, errors = executors.clean(kind, {name: str(value)})
        assert name not in errors, value
    assert not ActionRun.objects.exists()


def test_it_keeps_a_json_body_within_its_limit(playbook):
    limit = _param("http_request", "json_body").max_length
    body = json.dumps({"k": "v" * (limit - 10)})
    assert len(body) <= limit
    _, errors = executors.clean("http_request", {"json_body": body})
    assert "json_body" not in errors


# --- the run's output ---------------------------------------------------------------------


@pytest.fixture
def long_run(playbook, sre, monkeypatch):
    """A run whose action writes more lines than a run keeps, some of them over-long."""
    act = action_of("redis_ping")
    run = ActionRun.objects.create(
        action=act,
        runbook_name=act.step.runbook.name,
        action_label=act.label,
        kind="redis_ping",
        parameters={},
        requested_by=sre,
        status=RunStatus.PENDING,
        requested_at=timezone.now(),
    )
    total = execution.OUTPUT_MAX_LINES + 250

    def chatty(kind_name, params, emit, *, dry_run=False):
        emit("y" * (execution.OUTPUT_LINE_MAX + 500))
        for number in range(1, total):
            emit(f"line {number}")

    monkeypatch.setattr(executors, "execute", chatty)
    assert execution.claim_run(run.pk, worker="test")
    run.refresh_from_db()
    return run, total


def test_it_cuts_a_runs_output_and_says_so(long_run):
    run, total = long_run
    execution.run_claimed(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    lines = run.output.splitlines()
    assert len(lines) == execution.OUTPUT_MAX_LINES + 1
    assert lines[0] == "y" * execution.OUTPUT_LINE_MAX + "… (500 characters cut)"
    assert lines[-2] == f"line {execution.OUTPUT_MAX_LINES - 1}"
    dropped = total - execution.OUTPUT_MAX_LINES
    assert lines[-1] == (
        f"… {dropped:,} more line(s) not kept: the output is cut at "
        f"{execution.OUTPUT_MAX_LINES:,} lines"
    )
