"""Where runbook actions may send a request: only to the configured targets
(``RUNBOOK_HTTP_TARGETS``), with a target's credential going to its own URL only. A form names
a target and at most a path on its host; no value a user posts picks a URL, a host, a port or
an environment variable, a redirect is never followed, and bad targets stop the panel from
starting. Every check listens with a real server that must hear nothing."""

from __future__ import annotations

import json
import re
from base64 import b64decode, b64encode
from collections.abc import Callable

import pytest
from django.urls import reverse

from integrations import http_probe as probes
from runbooks import actions, executors
from runbooks.choices import RunStatus
from runbooks.kinds import KINDS
from runbooks.models import Action, ActionRun, Step
from tests.helpers import clean_env, run_manage, run_python
from tests.runbooks.conftest import Recorder, Seen

pytestmark = pytest.mark.django_db

STRIPE_KEY = "sk_test_secret"
# Values of the panel's own variables that must never leave it.
PANEL_SECRETS = {
    "REDIS_URL": "redis://:redis-password-0451@127.0.0.1:6379/0",
    "DATABASE_URL": "postgres://panel:db-password-0451@127.0.0.1:5432/controlpanel",
    "SECRET_KEY": "django-secret-key-0451",
}

# A parameter whose name or label says it points somewhere: a URL, a host, a port, a file, a
# variable or a target. Derived from the table the panel runs with, so a kind added later with
# such a parameter is swept too.
OUTWARD = re.compile(
    r"url|uri|host|port|endpoint|addr|server|socket|env|credential|secret|token|target|path|"
    r"file|dir",
    re.IGNORECASE,
)
OUTWARD_PARAMS = [
    (kind.name, param.name)
    for kind in KINDS.values()
    for param in kind.params
    if param.type in ("target", "path") or OUTWARD.search(param.name) or OUTWARD.search(param.label)
]
HTTP_KINDS = [k.name for k in KINDS.values() if any(p.type == "target" for p in k.params)]
# "pod" is a pod's name (text with suggestions): it names an object under the configured
# cluster's allowlisted namespace, never where the panel connects.
PARAM_TYPES = {"text", "int", "json", "choice", "regex", "target", "path", "pod"}


def hostile_values(receiver: Recorder) -> list[str]:
    """What a user might type to send a request somewhere of their choosing."""
    host_port = receiver.url.removeprefix("http://")
    port = host_port.rsplit(":", 1)[1]
    return [
        f"{receiver.url}/steal",
        f"https://{host_port}/steal",
        host_port,
        port,
        f"//{host_port}/steal",
        f"/..//{host_port}/steal",
        "/%2e%2e/%2e%2e/steal",
        "file:///etc/passwd",
        "REDIS_URL",
        "SECRET_KEY",
        "/health\r\nHost: evil.example",
    ]


def basic(secret: str) -> str:
    return "Basic " + b64encode(f"{secret}:".encode()).decode()


def action_of(kind: str) -> Action:
    """The playbook's first action of ``kind``, or one added to a step for a kind the
    playbook does not use yet."""
    found = Action.objects.filter(kind=kind).select_related("step__runbook").first()
    if found is not None:
        return found
    step = Step.objects.select_related("runbook").first()
    assert step is not None
    return Action.objects.create(
        step=step, position=step.actions.count() + 1, kind=kind, label=kind, parameters={}
    )


def posted(act: Action, mode: str = "run", **values: object) -> dict[str, object]:
    """The form as the page posts it: the action's own values, then the user's."""
    data: dict[str, object] = {"mode": mode}
    filled = executors.fill(act.parameters, executors.context())
    for key, value in {**filled, **values}.items():
        data[f"a{act.pk}-{key}"] = json.dumps(value) if isinstance(value, dict | list) else value
    return data


@pytest.fixture
def stack(http_servers, point_target, monkeypatch) -> tuple[Recorder, Recorder, Recorder]:
    """The configured targets on local servers (api, backend, payments with its key) and a
    receiver of the user's that no request may reach; the panel's own variables are set to
    values that must never leave it."""
    api, payments, receiver = http_servers(), http_servers(), http_servers()
    point_target("api", api.url)
    point_target("backend", api.url)
    point_target("payments", f"{payments.url}/v1/account", "STRIPE_SECRET_KEY")
    monkeypatch.setenv("STRIPE_SECRET_KEY", STRIPE_KEY)
    for name, value in PANEL_SECRETS.items():
        monkeypatch.setenv(name, value)
    return api, payments, receiver


def _leaked(seen: list[Seen]) -> list[str]:
    """The panel's own secrets in what a server received (headers, decoded basic auth, body)."""
    found = []
    for request in seen:
        auth = request.headers.get("Authorization", "").removeprefix("Basic ")
        try:
            decoded = b64decode(auth).decode(errors="replace")
        except ValueError:
            decoded = auth
        text = json.dumps(request.headers) + decoded + request.body.decode(errors="replace")
        found += [secret for secret in PANEL_SECRETS.values() if secret in text]
    return found


# --- the reproduction --------------------------------------------------------------------


@pytest.mark.parametrize("variable", sorted(PANEL_SECRETS))
def test_it_sends_no_variable_of_the_users_choosing_to_a_url_of_the_users_choosing(
    sre_client, playbook, run_on_commit, stack, variable
):
    """The review's finding: as sre, ``credential_env=REDIS_URL`` with a URL of one's own.
    Both fields are no part of the form: the check goes to the configured payments URL with
    the configured key, and the user's server hears nothing."""
    _, payments, receiver = stack
    check = Action.objects.get(step__runbook__name="LeanVibeHighErrorRate", kind="dependency_check")
    response = run_on_commit(
        sre_client.post,
        reverse("runbooks:run-action", args=[check.pk]),
        posted(check, url=f"{receiver.url}/steal", credential_env=variable),
    )
    assert response.status_code == 302
    run = ActionRun.objects.get()
    assert run.parameters == {"target": "payments"}
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert not receiver.heard_anything
    assert [(r.path, r.headers.get("Authorization")) for r in payments.requests] == [
        ("/v1/account", basic(STRIPE_KEY))
    ]
    assert _leaked(payments.requests) == []
    assert PANEL_SECRETS[variable] not in run.output and STRIPE_KEY not in run.output


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_it_refuses_a_posted_url_as_the_target_of_every_http_action(
    sre_client, playbook, run_on_commit, stack, kind
):
    api, payments, receiver = stack
    act = action_of(kind)
    for value in hostile_values(receiver):
        response = run_on_commit(
            sre_client.post,
            reverse("runbooks:run-action", args=[act.pk]),
            posted(act, target=value, url=f"{receiver.url}/steal", credential_env="REDIS_URL"),
        )
        assert response.status_code == 400, value
        assert "Select a valid choice" in response.content.decode(), value
    assert not ActionRun.objects.exists()
    assert not receiver.heard_anything and not api.heard_anything
    assert not payments.heard_anything


# --- the sweep over every kind -----------------------------------------------------------


def test_it_sweeps_the_parameters_that_reach_out():
    # The heuristic finds the HTTP parameters, so the sweep below is not empty.
    assert {
        ("http_probe", "target"),
        ("http_probe", "path"),
        ("http_request", "target"),
        ("http_request", "path"),
        ("dependency_check", "target"),
    } <= set(OUTWARD_PARAMS)
    assert set(HTTP_KINDS) == {"http_probe", "http_request", "dependency_check"}


def test_it_knows_every_parameter_type():
    """A new type (a URL, a variable's name) is a decision, not an accident: add it here
    only with the check that keeps it from choosing where the panel connects."""
    assert {p.type for k in KINDS.values() for p in k.params} <= PARAM_TYPES
    assert "secret_env" not in PARAM_TYPES


@pytest.mark.parametrize(("kind", "param"), OUTWARD_PARAMS)
def test_it_refuses_a_user_url_host_port_or_variable_in_every_outward_parameter(
    sre_client, playbook, run_on_commit, stack, kind, param
):
    api, payments, receiver = stack
    act = action_of(kind)
    for value in hostile_values(receiver):
        baseline = executors.fill(act.parameters, executors.context())
        _, errors = executors.clean(kind, {**baseline, param: value})
        assert param in errors, (value, errors)
        response = run_on_commit(
            sre_client.post,
            reverse("runbooks:run-action", args=[act.pk]),
            posted(act, **{param: value}),
        )
        assert response.status_code == 400, value
    assert not ActionRun.objects.exists()
    assert not receiver.heard_anything and not api.heard_anything
    assert not payments.heard_anything


@pytest.mark.parametrize("kind", list(KINDS))
def test_it_reads_only_the_parameters_a_kind_declares(playbook, kind):
    act = action_of(kind)
    extra = {
        "url": "http://127.0.0.1:9/steal",
        "host": "127.0.0.1",
        "port": "9",
        "credential_env": "REDIS_URL",
        "env": "SECRET_KEY",
        "file": "/etc/passwd",
    }
    raw = {**executors.fill(act.parameters, executors.context()), **extra}
    params, _ = executors.clean(kind, raw)
    assert set(params) <= {p.name for p in KINDS[kind].params}
    assert not set(params) & set(extra)


# --- what reaches the targets -------------------------------------------------------------


def test_it_probes_only_a_path_on_the_targets_host(sre_client, playbook, run_on_commit, stack):
    api, _, receiver = stack
    probe = Action.objects.get(step__runbook__name="high-api-response-time", kind="http_probe")
    response = run_on_commit(
        sre_client.post,
        reverse("runbooks:run-action", args=[probe.pk]),
        posted(probe, host=receiver.url, port="1"),
    )
    assert response.status_code == 302
    run = ActionRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.parameters == {"target": "backend", "path": "/health/db"}
    assert [r.path for r in api.requests] == ["/health/db"]
    assert not receiver.heard_anything


def test_it_refuses_a_bad_path_even_when_called_directly(http_servers):
    server = http_servers()
    target = probes.Target("api", f"{server.url}/base")
    lines: list[str] = []
    probes.probe(target, "/health", lines.append)
    assert [r.path for r in server.requests] == ["/base/health"]
    for path in ("//127.0.0.1:9/x", "http://127.0.0.1:9/x", "/../x", "x"):
        with pytest.raises(probes.ProbeError, match="path"):
            probes.probe(target, path, lines.append)
    assert len(server.connections) == 1


@pytest.mark.parametrize(
    "path", ["/", "/health", "/health/db", "/api/v1/tenants", "/search?q=a%20b&x=1", "/~a/b.c-d_e"]
)
def test_it_accepts_a_path_on_the_targets_host(path):
    assert probes.path_problem(path) == ""


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("", "a path on the target's host is needed"),
        ("health", "a path starts with /"),
        ("127.0.0.1:9/x", "a path starts with /"),
        ("http://evil.example/x", "not a URL"),
        ("//evil.example/x", "not a URL"),
        ("/a/../b", "no .."),
        ("/a/%2E%2E/b", "no .."),
        ("/a/%2fb", "no .."),
        ("/a//b", "no //"),
        ("/a b", "only the characters"),
        ("/a\r\nHost: evil", "only the characters"),
        ("/a#b", "only the characters"),
        ("/a\\b", "only the characters"),
        ("/{api_url}", "only the characters"),
        ("/" + "a" * 200, "at most 200 characters"),
    ],
)
def test_it_refuses_what_is_not_a_path_on_the_targets_host(path, problem):
    assert problem in probes.path_problem(path)


# --- redirects -----------------------------------------------------------------------------


def redirect_to(location: str) -> Callable[[Seen], tuple[int, dict[str, str], bytes]]:
    def answer(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        return 302, {"Location": location}, b""

    return answer


def test_it_does_not_follow_a_redirect_to_another_host_with_the_credential(
    sre, playbook, run_on_commit, http_servers, point_target, monkeypatch
):
    elsewhere = http_servers()
    payments = http_servers(redirect_to(f"{elsewhere.url}/steal?echo={STRIPE_KEY}"))
    point_target("payments", f"{payments.url}/v1/account", "STRIPE_SECRET_KEY")
    monkeypatch.setenv("STRIPE_SECRET_KEY", STRIPE_KEY)
    check = Action.objects.get(step__runbook__name="LeanVibeHighErrorRate", kind="dependency_check")
    run = run_on_commit(actions.request_run, check, {"target": "payments"}, actor=sre)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "HTTP 302 (a redirect); not followed" in run.error
    assert not elsewhere.heard_anything
    assert [r.headers.get("Authorization") for r in payments.requests] == [basic(STRIPE_KEY)]
    assert "redirect to" in run.output and "[redacted]" in run.output
    assert STRIPE_KEY not in run.output + run.error


def test_it_does_not_send_the_credential_again_on_a_redirect_to_the_same_host(
    sre, playbook, run_on_commit, http_servers, point_target, monkeypatch
):
    payments = http_servers(redirect_to("/v1/elsewhere"))
    point_target("payments", f"{payments.url}/v1/account", "STRIPE_SECRET_KEY")
    monkeypatch.setenv("STRIPE_SECRET_KEY", STRIPE_KEY)
    check = Action.objects.get(step__runbook__name="LeanVibeHighErrorRate", kind="dependency_check")
    run = run_on_commit(actions.request_run, check, {"target": "payments"}, actor=sre)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "not followed" in run.error
    assert [r.path for r in payments.requests] == ["/v1/account"]


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("http_probe", {"target": "api", "path": "/health"}),
        ("http_request", {"method": "POST", "target": "api", "path": "/api/v1/tenants"}),
    ],
)
def test_it_reports_a_probes_redirect_without_following_it(
    sre, playbook, run_on_commit, http_servers, point_target, kind, params
):
    elsewhere = http_servers()
    api = http_servers(redirect_to(f"{elsewhere.url}/steal"))
    point_target("api", api.url)
    act = action_of(kind)
    run = run_on_commit(
        actions.request_run, act, {"json_body": None, "expect_status": None, **params}, actor=sre
    )
    run.refresh_from_db()
    assert f"redirect to {elsewhere.url}/steal: not followed" in run.output
    assert len(api.requests) == 1 and not elsewhere.heard_anything


# --- the configured targets ----------------------------------------------------------------

TARGETS_JSON = (
    "import django, json; django.setup()\n"
    "from django.conf import settings\n"
    "print(json.dumps(settings.RUNBOOK_HTTP_TARGETS))\n"
)
RUNBOOK_URLS = ("RUNBOOK_API_URL", "RUNBOOK_BACKEND_URL", "RUNBOOK_DEPENDENCY_URL")


def _env(**values: str) -> dict[str, str]:
    env = clean_env(DEBUG="1", DJANGO_SETTINGS_MODULE="controlpanel.settings", **values)
    for name in RUNBOOK_URLS:
        if name not in values:
            env.pop(name, None)
    return env


def test_it_builds_the_targets_from_the_runbook_urls():
    result = run_python(TARGETS_JSON, _env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "api": {"url": "http://127.0.0.1:9200", "credential_env": ""},
        "backend": {"url": "http://127.0.0.1:9200", "credential_env": ""},
        "payments": {
            "url": "https://api.stripe.com/v1/account",
            "credential_env": "STRIPE_SECRET_KEY",
        },
    }
    production = _env(
        RUNBOOK_API_URL="https://api.leanvibe.ai/",
        RUNBOOK_BACKEND_URL="http://leanvibe-backend.leanvibe-production:8000",
    )
    result = run_python(TARGETS_JSON, production)
    assert result.returncode == 0, result.stderr
    targets = json.loads(result.stdout.strip().splitlines()[-1])
    assert targets["api"]["url"] == "https://api.leanvibe.ai"
    assert targets["backend"]["url"] == "http://leanvibe-backend.leanvibe-production:8000"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RUNBOOK_API_URL", "api.leanvibe.ai", "is not a URL"),
        ("RUNBOOK_API_URL", "ftp://files.leanvibe.ai", "is not an http(s) URL with a host"),
        ("RUNBOOK_BACKEND_URL", "http://:8000", "is not an http(s) URL with a host"),
        ("RUNBOOK_BACKEND_URL", "http://backend:80a", "has a bad port"),
        ("RUNBOOK_DEPENDENCY_URL", "https://api.stripe.com/v1/account?key=x", "without a user"),
        ("RUNBOOK_DEPENDENCY_URL", "https://sk_live_0451:@api.stripe.com/v1", "without a user"),
    ],
)
def test_it_refuses_to_start_with_a_bad_target(variable, value, message):
    result = run_manage("check", env=_env(**{variable: value}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and variable in result.stderr
    assert message in result.stderr
    assert "sk_live_0451" not in result.stderr
