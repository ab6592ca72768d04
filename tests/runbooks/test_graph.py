"""The Neo4j actions through the official driver. No Neo4j server runs in the tests (it is not
packaged for Debian), so they check what an operator meets without one: the page says plainly
that ``NEO4J_URL`` is not set, and a configured but unreachable server ends the run as failed
with the reason, not with a crash or a run left running."""

from __future__ import annotations

import time

import pytest

from runbooks import actions
from runbooks.choices import RunStatus
from runbooks.models import Action
from tests.services import free_port

pytestmark = pytest.mark.django_db


def connectivity() -> Action:
    return Action.objects.get(step__runbook__name="LeanVibeHighErrorRate", kind="neo4j_query")


def test_it_fails_a_run_plainly_when_neo4j_is_configured_but_unreachable(
    sre_client, sre, playbook, run_on_commit, settings
):
    settings.NEO4J_URL = f"bolt://127.0.0.1:{free_port()}"  # nothing listens there
    settings.NEO4J_PASSWORD = "secret"
    html = sre_client.get("/runbooks/LeanVibeHighErrorRate").content.decode()
    assert 'data-testid="neo4j-not-configured"' not in html

    started = time.monotonic()
    run = run_on_commit(actions.request_run, connectivity(), {"query": "RETURN 1"}, actor=sre)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.finished_at is not None
    assert run.error.startswith(f"Neo4j unreachable at {settings.NEO4J_URL}:")
    assert time.monotonic() - started < 15  # well inside the action's time limit


def test_it_fails_a_run_plainly_when_neo4j_url_is_malformed(sre, playbook, run_on_commit, settings):
    settings.NEO4J_URL = "bolt://127.0.0.1:seven"
    run = run_on_commit(actions.request_run, connectivity(), {"query": "RETURN 1"}, actor=sre)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("NEO4J_URL='bolt://127.0.0.1:seven' is not usable:")


def test_it_refuses_to_run_a_neo4j_action_without_neo4j_url(sre, playbook, run_on_commit, settings):
    settings.NEO4J_URL = ""
    run = run_on_commit(actions.request_run, connectivity(), {"query": "RETURN 1"}, actor=sre)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == "Neo4j is not configured: set NEO4J_URL (and NEO4J_PASSWORD)"
