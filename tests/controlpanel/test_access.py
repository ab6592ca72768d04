"""The role matrix: every URL pattern of the site, for every persona.

A new URL pattern without a line in ``EXPECTATIONS`` fails ``test_it_states_an_expectation_for_
every_url``: whoever adds a page decides, here, who may open it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

LOGIN = "/accounts/login/"
PERSONAS = ("anonymous", "business", "sre", "admin")


@dataclass(frozen=True)
class Expect:
    anonymous: int
    business: int
    sre: int
    admin: int
    method: str = "get"
    kwargs: dict = field(default_factory=dict)

    def for_persona(self, persona: str) -> int:
        return int(getattr(self, persona))


EVERYONE = Expect(anonymous=200, business=200, sre=200, admin=200)
SIGNED_IN = Expect(anonymous=302, business=200, sre=200, admin=200)

EXPECTATIONS: dict[str, Expect] = {
    "home": SIGNED_IN,
    # The navigation's counts and the banner, refreshed by pages with no live region.
    "live-navigation": SIGNED_IN,
    "health": EVERYONE,
    "health-db": EVERYONE,
    "metrics": EVERYONE,
    # Signed-in users are sent on to the home page.
    "login": Expect(anonymous=200, business=302, sre=302, admin=302),
    "logout": Expect(anonymous=302, business=302, sre=302, admin=302, method="post"),
    "alerts:api-status": SIGNED_IN,
    # The admin's sign-in: the signed-in who cannot administer are told so (403); an
    # administrator is sent on to the admin.
    "admin-login": Expect(anonymous=200, business=403, sre=403, admin=302),
    # An SRE-only dashboard; business staff get the overview and business dashboards (below).
    "dashboards:dashboard": Expect(
        anonymous=302, business=403, sre=200, admin=200, kwargs={"slug": "kubernetes-overview"}
    ),
    # Every check behind a tile of that SRE-only dashboard.
    "dashboards:panel-table": Expect(
        anonymous=302,
        business=403,
        sre=200,
        admin=200,
        kwargs={"slug": "kubernetes-overview", "metric": "pod_cpu"},
    ),
    # The history of a check on node CPU, which business staff cannot see.
    "alerts:check-history": Expect(
        anonymous=302, business=404, sre=200, admin=200, kwargs={"pk": 1}
    ),
    # Alertmanager's webhook: no session opens it, only the bearer token (set in the test).
    "firing:alertmanager-webhook": Expect(
        anonymous=401, business=401, sre=401, admin=401, method="post"
    ),
    "firing:silence-history": Expect(anonymous=302, business=403, sre=200, admin=200),
    # An unknown silence: the edit form says so (404); extending it goes back to the list
    # with the error as a message.
    "firing:silence-edit": Expect(
        anonymous=302,
        business=403,
        sre=404,
        admin=404,
        kwargs={"silence_id": "00000000-0000-4000-8000-000000000000"},
    ),
    "firing:silence-extend": Expect(
        anonymous=302,
        business=403,
        sre=302,
        admin=302,
        method="post",
        kwargs={"silence_id": "00000000-0000-4000-8000-000000000000"},
    ),
    "firing:firing": Expect(anonymous=302, business=403, sre=200, admin=200),
    # Posted without a comment: refused as a bad form, once the role is let in.
    "firing:firing-ack": Expect(
        anonymous=302, business=403, sre=400, admin=400, method="post", kwargs={"pk": 1}
    ),
    "firing:silences": Expect(anonymous=302, business=403, sre=200, admin=200),
    "alerts:rules": Expect(anonymous=302, business=403, sre=200, admin=200),
    "alerts:rules-download": Expect(anonymous=302, business=403, sre=200, admin=200),
    "firing:noise": Expect(anonymous=302, business=403, sre=200, admin=200),
    # GET is the form; POST creates.
    "firing:silence-create": Expect(anonymous=302, business=403, sre=200, admin=200),
    # An unknown silence: the SRE is sent back to the list with the error as a message.
    "firing:silence-expire": Expect(
        anonymous=302,
        business=403,
        sre=302,
        admin=302,
        method="post",
        kwargs={"silence_id": "00000000-0000-4000-8000-000000000000"},
    ),
    # Refusing needs a reason (none posted: 400); a second request from run 1, which is no
    # dry run, goes back to it with a message.
    "runbooks:refuse-run": Expect(
        anonymous=302, business=403, sre=400, admin=400, method="post", kwargs={"pk": 1}
    ),
    "runbooks:request-approval": Expect(
        anonymous=302, business=403, sre=302, admin=302, method="post", kwargs={"pk": 1}
    ),
    "runbooks:index": Expect(anonymous=302, business=403, sre=200, admin=200),
    "runbooks:detail": Expect(
        anonymous=302, business=403, sre=200, admin=200, kwargs={"name": "HighCPUUsage"}
    ),
    "runbooks:audit": Expect(anonymous=302, business=403, sre=200, admin=200),
    # The role is checked before the action is looked up (this one does not exist); business
    # staff are refused every action in tests/runbooks/test_pages.py.
    "runbooks:run-action": Expect(
        anonymous=302, business=403, sre=404, admin=404, method="post", kwargs={"pk": 999999}
    ),
    # Run 1 (a scale waiting for approval, asked by another SRE): seen, approved, cancelled.
    "runbooks:run": Expect(anonymous=302, business=403, sre=200, admin=200, kwargs={"pk": 1}),
    "runbooks:approve-run": Expect(
        anonymous=302, business=403, sre=302, admin=302, method="post", kwargs={"pk": 1}
    ),
    "runbooks:cancel-run": Expect(
        anonymous=302, business=403, sre=302, admin=302, method="post", kwargs={"pk": 1}
    ),
    # Checklists: both roles work on runs; item 1 is an SRE item, item 2 a business one.
    # Refusals of an allowed role (nothing to sign off yet, no note text) come back as a
    # message on the run page (302); a role without the right gets 403.
    "checklists:index": SIGNED_IN,
    "checklists:run": Expect(anonymous=302, business=200, sre=200, admin=200, kwargs={"pk": 1}),
    "checklists:check-item": Expect(
        anonymous=302, business=403, sre=302, admin=302, method="post", kwargs={"pk": 1}
    ),
    "checklists:not-applicable": Expect(
        anonymous=302, business=302, sre=302, admin=302, method="post", kwargs={"pk": 2}
    ),
    "checklists:reopen-item": Expect(
        anonymous=302, business=403, sre=302, admin=302, method="post", kwargs={"pk": 1}
    ),
    "checklists:sign-off": Expect(
        anonymous=302, business=403, sre=302, admin=302, method="post", kwargs={"pk": 1}
    ),
    "checklists:review-run": Expect(
        anonymous=302, business=403, sre=302, admin=302, method="post", kwargs={"pk": 1}
    ),
    "checklists:add-note": Expect(
        anonymous=302, business=302, sre=302, admin=302, method="post", kwargs={"pk": 1}
    ),
    "checklists:gather-evidence": Expect(
        anonymous=302, business=403, sre=302, admin=302, method="post", kwargs={"pk": 1}
    ),
    "checklists:set-owner": Expect(
        anonymous=302, business=403, sre=302, admin=302, method="post", kwargs={"pk": 1}
    ),
    "checklists:sla": SIGNED_IN,
    "checklists:export": SIGNED_IN,
    # Incidents are the SREs': incident 1 is open. Posted empty, a write is refused as a bad
    # form once the role is let in (opening: back to the list with the error as a message).
    "incidents:incidents": Expect(anonymous=302, business=403, sre=200, admin=200),
    "incidents:incident": Expect(anonymous=302, business=403, sre=200, admin=200, kwargs={"pk": 1}),
    "incidents:export-incident": Expect(
        anonymous=302, business=403, sre=200, admin=200, kwargs={"pk": 1}
    ),
    "incidents:open-incident": Expect(
        anonymous=302, business=403, sre=302, admin=302, method="post"
    ),
    "incidents:add-note": Expect(
        anonymous=302, business=403, sre=400, admin=400, method="post", kwargs={"pk": 1}
    ),
    "incidents:close-incident": Expect(
        anonymous=302, business=403, sre=400, admin=400, method="post", kwargs={"pk": 1}
    ),
}
# Outside the login: Alertmanager proves itself with the bearer token instead.
BEARER_ONLY = {"firing:alertmanager-webhook"}
# The admin site is one family: only staff get in; everyone else is sent to a login page.
ADMIN_SAMPLES = (
    "admin:index",
    "admin:auth_user_changelist",
    "admin:auth_group_changelist",
    "admin:django_celery_beat_periodictask_changelist",
)
ADMIN = Expect(anonymous=302, business=302, sre=302, admin=200)


def _all_view_names(resolver: URLResolver | None = None, namespace: str = "") -> list[str]:
    names = []
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names.extend(_all_view_names(pattern, inner))
        elif isinstance(pattern, URLPattern):
            names.append(f"{namespace}{pattern.name or f'<unnamed {pattern.pattern}>'}")
    return names


def test_it_states_an_expectation_for_every_url():
    missing = [
        name
        for name in _all_view_names()
        if not name.startswith("admin:") and name not in EXPECTATIONS
    ]
    assert missing == [], f"Add these URL names to EXPECTATIONS in {__file__}: {missing}"


@pytest.fixture
def playbook_loaded(db):
    """The dashboards, one check and one firing alert, for the URLs that show them."""
    from django.core.management import call_command

    from alerts.models import Check, Threshold
    from tests.factories import make_firing_alert

    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    Check.objects.create(
        pk=1,
        threshold=Threshold.objects.get(key="node_cpu"),
        labels={"instance": "leanvibe-node-1"},
        signature="node_cpu{x}",
    )
    make_firing_alert(pk=1)
    _awaiting_run()
    _checklist_run()
    _open_incident()


def _open_incident() -> None:
    from django.utils import timezone

    from incidents.models import Incident

    Incident.objects.create(pk=1, title="Enterprise response time", started_at=timezone.now())


def _checklist_run() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from checklists.models import ChecklistRun, RunItem

    now = timezone.now()
    run = ChecklistRun.objects.create(
        pk=1,
        cadence="daily",
        period_start=now.date(),
        period_end=now.date(),
        title="Daily monitoring tasks",
        due_at=now + timedelta(hours=8),
    )
    RunItem.objects.create(pk=1, run=run, position=1, title="Verify backups", role="sre")
    RunItem.objects.create(pk=2, run=run, position=2, title="Business trends", role="business")


def _awaiting_run() -> None:
    from django.utils import timezone

    from core.permissions import Role
    from runbooks.models import Action, ActionRun
    from tests.factories import make_user

    scale = Action.objects.filter(kind="k8s_scale").first()
    ActionRun.objects.create(
        pk=1,
        action=scale,
        runbook_name="HighCPUUsage",
        action_label="Scale leanvibe-backend to 6 replicas",
        kind="k8s_scale",
        parameters={"replicas": 6},
        status="awaiting_approval",
        requested_by=make_user("requester", Role.SRE),
        requested_at=timezone.now(),
    )


@pytest.fixture
def clients(client, business_client, sre_client, admin_client):
    return {
        "anonymous": client,
        "business": business_client,
        "sre": sre_client,
        "admin": admin_client,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_it_answers_each_persona_as_expected(
    clients, persona, name, settings, prometheus_server, alertmanager_server, playbook_loaded
):
    settings.PROMETHEUS_URL = prometheus_server.url
    settings.ALERTMANAGER_URL = alertmanager_server.url
    settings.ALERTMANAGER_WEBHOOK_TOKEN = "a-token-no-persona-sends"
    expect = EXPECTATIONS[name]
    response = getattr(clients[persona], expect.method)(reverse(name, kwargs=expect.kwargs))
    assert response.status_code == expect.for_persona(persona), (persona, name)
    if persona == "anonymous" and response.status_code == 302 and name != "logout":
        assert response["Location"].startswith(LOGIN)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", ADMIN_SAMPLES)
def test_it_keeps_the_admin_to_staff(clients, persona, name):
    response = clients[persona].get(reverse(name))
    assert response.status_code == ADMIN.for_persona(persona), (persona, name)
    if response.status_code == 302:
        assert "login" in response["Location"]


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_login_from_every_page_but_the_public_ones(
    client, playbook_loaded
):
    public = {name for name, e in EXPECTATIONS.items() if e.anonymous == 200} | {"logout"}
    assert public == {"health", "health-db", "metrics", "login", "logout", "admin-login"}
    for name, expect in EXPECTATIONS.items():
        if name in public or name in BEARER_ONLY:
            continue
        response = client.get(reverse(name, kwargs=expect.kwargs))
        assert response.status_code == 302 and response["Location"].startswith(LOGIN), name


@pytest.mark.django_db
def test_it_shows_only_the_navigation_a_user_may_open(sre_client, admin_client, business_client):
    sre, business = sre_client.get("/").content.decode(), business_client.get("/").content.decode()
    assert 'href="/admin/"' not in sre
    assert 'href="/admin/"' not in business
    assert 'href="/admin/"' in admin_client.get("/").content.decode()
    assert 'href="/d/kubernetes-overview"' in sre
    assert 'href="/d/kubernetes-overview"' not in business
    assert 'href="/d/business-metrics"' in business
    assert 'href="/alerts/"' in sre
    assert 'href="/alerts/"' not in business
    assert 'href="/runbooks/"' in sre
    assert 'href="/runbooks/"' not in business
    assert 'href="/incidents/"' in sre
    assert 'href="/incidents/"' not in business


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["leanvibe-overview", "business-metrics"])
def test_it_opens_the_business_dashboards_to_business_staff(
    business_client, slug, settings, playbook_loaded
):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    assert business_client.get(f"/d/{slug}").status_code == 200


@pytest.mark.django_db
def test_it_answers_404_for_an_unknown_dashboard(sre_client):
    assert sre_client.get("/d/no-such-board").status_code == 404
