"""Approvals reach the approver: a change waiting for a second SRE is told to the SRE
channels with the run's address from PANEL_URL; approving, refusing (with a reason) and
expiring are told too, each once; the dry run page asks for approval; the run page's message
follows the run's state; a refused form keeps what was typed and the link's labels, with its
errors at the field and at the top of the form."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification, NotificationChannel
from runbooks import actions, approvals
from runbooks.choices import RunStatus
from runbooks.models import Action, ActionRun
from runbooks.tasks import sweep_runs
from tests.runbooks.conftest import NS

pytestmark = pytest.mark.django_db

SCALE = {"namespace": NS, "deployment": "leanvibe-backend", "replicas": 6}
PANEL = "https://panel.leanvibe.example"


def scale_action() -> Action:
    return Action.objects.filter(step__runbook__name="HighCPUUsage", kind="k8s_scale").first()


def form_data(act: Action, mode: str, **values) -> dict:
    data = {"mode": mode}
    for key, value in {**act.parameters, **values}.items():
        data[f"a{act.pk}-{key}"] = json.dumps(value) if isinstance(value, dict) else value
    return data


@pytest.fixture
def channels(settings, http_servers):
    """An SRE mailing list and an SRE chat webhook (every category), a business-only channel
    and a disabled one that must hear nothing."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PANEL_URL = PANEL
    chat = http_servers()
    NotificationChannel.objects.create(name="sre mail", kind="email", target="sre@example.test")
    NotificationChannel.objects.create(name="sre chat", kind="slack", target=chat.url + "/hook")
    NotificationChannel.objects.create(
        name="business", kind="email", target="biz@example.test", categories=["business"]
    )
    NotificationChannel.objects.create(
        name="off", kind="email", target="off@example.test", is_enabled=False
    )
    return chat


def subjects() -> list[str]:
    return [m.subject for m in mail.outbox]


# --- the channels hear it --------------------------------------------------------------------


def test_it_tells_the_sre_channels_a_change_waits_with_the_panels_address(
    sre_client, sre, playbook, cluster_kubeconfig, channels, run_on_commit
):
    scale = scale_action()
    run_on_commit(
        sre_client.post,
        reverse("runbooks:run-action", args=[scale.pk]),
        form_data(scale, "request", namespace=NS),
    )
    run = ActionRun.objects.get()
    assert run.status == RunStatus.AWAITING_APPROVAL
    link = f"{PANEL}/runbooks/runs/{run.pk}"
    assert [m.to for m in mail.outbox] == [["sre@example.test"]]
    message = mail.outbox[0]
    assert message.subject == (
        f"[APPROVAL NEEDED] sre asks to run “{run.action_label}” (HighCPUUsage)"
    )
    # the address is PANEL_URL's, never the request's host
    assert link in message.body and "testserver" not in message.body
    assert "+ spec.replicas: 6" in message.body and "expires at" in message.body
    [posted] = channels.requests
    text = json.loads(posted.body)["text"]
    assert "[APPROVAL NEEDED]" in text and link in text
    assert sorted(n.channel.name for n in Notification.objects.all()) == ["sre chat", "sre mail"]
    page = sre_client.get(reverse("runbooks:run", args=[run.pk])).content.decode()
    assert "sre chat, sre mail were told" in page


def test_it_tells_the_channels_when_a_request_is_approved_and_refused_once_each(
    sre, sre2, playbook, channels, run_on_commit, monkeypatch
):
    from runbooks import executors

    monkeypatch.setitem(executors.RUNNERS, "k8s_scale", lambda p, emit: emit("scaled"))
    first = run_on_commit(actions.request_run, scale_action(), SCALE, actor=sre, preview="(t)")
    run_on_commit(actions.approve_run, first, actor=sre2)
    with pytest.raises(actions.RunRefused, match="no longer waiting"):
        run_on_commit(actions.approve_run, first, actor=sre2)
    second = run_on_commit(actions.request_run, scale_action(), SCALE, actor=sre, preview="(t)")
    run_on_commit(actions.refuse_run, second, "Not during the peak; at 18:00.", actor=sre2)
    with pytest.raises(actions.RunRefused, match="no longer waiting"):
        run_on_commit(actions.refuse_run, second, "again", actor=sre2)
    assert [s.split(" ", 1)[0] for s in subjects()] == [
        "[APPROVAL",
        "[APPROVED]",
        "[APPROVAL",
        "[REFUSED]",
    ]
    refused = mail.outbox[-1]
    assert refused.subject.startswith("[REFUSED] sre2 refused sre's")
    assert "Reason: Not during the peak; at 18:00." in refused.body
    assert f"{PANEL}/runbooks/runs/{second.pk}" in refused.body
    assert len(channels.requests) == 4


def test_it_expires_a_request_nobody_answered_and_says_so_once(
    sre, sre2, sre_client, playbook, channels, settings, eager_celery
):
    settings.RUNBOOK_APPROVAL_TTL = 600
    with time_machine.travel(timezone.now(), tick=False) as clock:
        run = actions.request_run(scale_action(), SCALE, actor=sre, preview="(t)")
        assert run.approval_expires_at == run.requested_at + timedelta(seconds=600)
        clock.shift(timedelta(seconds=599))
        assert sweep_runs.apply().get() == 0
        clock.shift(timedelta(seconds=2))
        # Past its expiry, an approval is refused even before the sweeper has been by.
        with pytest.raises(actions.RunRefused, match="expired"):
            actions.approve_run(run, actor=sre2)
        # the sweeps come a beat tick apart (health.slots runs one a tick)
        clock.shift(timedelta(seconds=settings.RUNBOOK_SWEEP_INTERVAL))
        assert sweep_runs.apply().get() == 1
        clock.shift(timedelta(seconds=settings.RUNBOOK_SWEEP_INTERVAL))
        assert sweep_runs.apply().get() == 0  # the next sweep finds nothing more to say
    run.refresh_from_db()
    assert run.status == RunStatus.EXPIRED and run.finished_at is not None
    assert "within 10 min" in run.error
    assert subjects() == [f"[EXPIRED] nobody approved sre's “{run.action_label}” (HighCPUUsage)"]
    with pytest.raises(actions.RunRefused, match="it is expired"):
        actions.approve_run(run, actor=sre2)
    page = sre_client.get(reverse("runbooks:run", args=[run.pk])).content.decode()
    assert 'data-testid="expired"' in page and "within 10 min" in page
    assert 'data-testid="request-approval"' in page  # ask again, with the same parameters


def test_it_sends_nothing_for_runs_that_need_no_approval(sre, playbook, channels, run_on_commit):
    run_on_commit(actions.request_run, scale_action(), SCALE, actor=sre, dry_run=True)
    assert mail.outbox == [] and channels.requests == []


# --- refusing ----------------------------------------------------------------------------


@pytest.fixture
def waiting(sre, playbook) -> ActionRun:
    return actions.request_run(scale_action(), SCALE, actor=sre, preview="+ spec.replicas: 6")


def test_it_refuses_with_a_required_reason_and_shows_it_to_the_requester(
    waiting, sre_client, sre2_client, run_on_commit
):
    url = reverse("runbooks:refuse-run", args=[waiting.pk])
    empty = sre2_client.post(url, {"reason": "   "})
    assert empty.status_code == 400
    page = empty.content.decode()
    assert 'data-testid="error-summary"' in page and 'href="#id_reason"' in page
    assert "Say why you refuse it" in page and 'data-testid="field-error"' in page
    assert re.search(r'<textarea[^>]*autofocus[^>]*id="id_reason"', page) or re.search(
        r'<textarea[^>]*id="id_reason"[^>]*autofocus', page
    )
    assert 'maxlength="500"' in page and "At most 500 characters" in page
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.AWAITING_APPROVAL

    run_on_commit(sre2_client.post, url, {"reason": "Scale the API first."})
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.REFUSED and waiting.refused_by.username == "sre2"
    assert waiting.refusal_reason == "Scale the API first."
    run_page = sre_client.get(reverse("runbooks:run", args=[waiting.pk])).content.decode()
    assert 'data-testid="refusal"' in run_page and "Scale the API first." in run_page
    assert "Approve and run" not in run_page and "needs-second" not in run_page
    audit = sre_client.get("/runbooks/audit?format=csv").content.decode()
    assert "refused by sre2: Scale the API first." in audit and ",refused," in audit


@pytest.mark.parametrize(
    ("reason", "message"),
    [("x" * 501, "At most 500 characters"), ("no\x00pe", "Null characters are not allowed")],
)
def test_it_refuses_a_reason_too_long_or_with_a_null_character(
    waiting, sre2_client, reason, message
):
    response = sre2_client.post(
        reverse("runbooks:refuse-run", args=[waiting.pk]), {"reason": reason}
    )
    assert response.status_code == 400 and message in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.AWAITING_APPROVAL


def test_it_lets_neither_the_requester_nor_business_staff_refuse(
    waiting, sre, sre_client, business_client
):
    with pytest.raises(actions.RunRefused, match="cancel it instead"):
        actions.refuse_run(waiting, "mine", actor=sre)
    url = reverse("runbooks:refuse-run", args=[waiting.pk])
    assert sre_client.post(url, {"reason": "mine"}).status_code == 302
    assert business_client.post(url, {"reason": "no"}).status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.AWAITING_APPROVAL


# --- the dry run page carries "Request approval" -------------------------------------------


def test_it_requests_approval_from_a_dry_runs_page(
    sre_client, sre2_client, playbook, cluster_kubeconfig, run_on_commit
):
    scale = scale_action()
    run_on_commit(
        sre_client.post,
        reverse("runbooks:run-action", args=[scale.pk]),
        form_data(scale, "dry_run", namespace=NS, replicas=4),
    )
    dry = ActionRun.objects.get()
    assert dry.dry_run and dry.status == RunStatus.SUCCEEDED
    page = sre_client.get(reverse("runbooks:run", args=[dry.pk])).content.decode()
    assert 'data-testid="request-approval"' in page and "This was a dry run" in page
    response = run_on_commit(sre2_client.post, reverse("runbooks:request-approval", args=[dry.pk]))
    asked = ActionRun.objects.exclude(pk=dry.pk).get()
    assert response["Location"] == reverse("runbooks:run", args=[asked.pk])
    assert asked.status == RunStatus.AWAITING_APPROVAL and not asked.dry_run
    assert asked.parameters == dry.parameters and asked.requested_by.username == "sre2"
    assert "+ spec.replicas: 4" in asked.preview


def test_it_offers_no_request_after_a_read_only_run_or_a_change_waiting(
    sre, sre_client, waiting, playbook, run_on_commit
):
    ping = Action.objects.filter(kind="redis_ping").first()
    read_only = actions.request_run(ping, {}, actor=sre)
    ActionRun.objects.filter(pk=read_only.pk).update(status=RunStatus.SUCCEEDED)
    for run in (read_only, waiting):
        page = sre_client.get(reverse("runbooks:run", args=[run.pk])).content.decode()
        assert 'data-testid="request-approval"' not in page
        response = sre_client.post(reverse("runbooks:request-approval", args=[run.pk]))
        assert response.status_code == 302
    assert ActionRun.objects.count() == 2


# --- the run page's message follows the run ------------------------------------------------


def test_it_says_what_the_run_does_now_rather_than_what_was_clicked(
    waiting, sre_client, sre2_client, run_on_commit, monkeypatch
):
    from runbooks import executors

    url = reverse("runbooks:run", args=[waiting.pk])
    asked = sre_client.get(url).content.decode()
    assert "Waiting for a second SRE since just now" in asked and "expires in 1 h" in asked
    assert "send them this page" not in asked
    assert "no notification channel takes runbook notices" in asked  # none configured here
    assert "asked just now for a second SRE" in sre2_client.get(url).content.decode()

    monkeypatch.setitem(executors.RUNNERS, "k8s_scale", lambda p, emit: None)
    approve = sre2_client.post(reverse("runbooks:approve-run", args=[waiting.pk]))
    assert approve.status_code == 302  # the worker has not run it yet (nothing committed)
    queued = sre2_client.get(url).content.decode()
    assert "You approved it just now: the run is queued" in queued
    assert "Approved by <strong>sre2</strong> just now" in sre_client.get(url).content.decode()
    ActionRun.objects.filter(pk=waiting.pk).update(
        status=RunStatus.SUCCEEDED, finished_at=timezone.now()
    )
    done = sre2_client.get(url).content.decode()
    assert "Succeeded at" in done and "queued" not in done and "Approved:" not in done
    polled = sre2_client.get(url, HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and "queued" not in polled.content.decode()


def test_it_removes_the_decision_forms_once_the_run_no_longer_waits(waiting, sre2_client, sre2):
    url = reverse("runbooks:run", args=[waiting.pk])
    page = sre2_client.get(url).content.decode()
    assert '<section id="decide" data-live' in page and "Refuse" in page
    actions.refuse_run(waiting, "no", actor=sre2)
    polled = sre2_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert '<div id="decide" data-live></div>' in polled and "Refuse</button>" not in polled


# --- a refused form keeps what was typed and the alert's labels --------------------------


def test_it_keeps_the_typed_values_and_the_links_labels_on_a_refused_form(sre_client, playbook):
    delete = Action.objects.get(step__runbook__name="HighMemoryUsage", kind="k8s_delete_pod")
    page = sre_client.get("/runbooks/HighMemoryUsage?pod=leanvibe-backend-x2k9p").content.decode()
    post_url = f"/runbooks/actions/{delete.pk}/run?pod=leanvibe-backend-x2k9p"
    assert f'action="{post_url}"' in page
    data = form_data(delete, "request", namespace="kube-system", pod="leanvibe-backend-x2k9p")
    response = sre_client.post(post_url, data)
    assert response.status_code == 400
    refused = response.content.decode()
    assert 'pod="leanvibe-backend-x2k9p"' in refused and "from the link you followed" in refused
    assert f'name="a{delete.pk}-namespace" value="kube-system"' in refused
    assert f'name="a{delete.pk}-pod" value="leanvibe-backend-x2k9p"' in refused
    summary = refused.index('data-testid="error-summary"')
    form_start = refused.rindex("<form", 0, summary)
    assert f'action="{post_url}"' in refused[form_start:summary]  # at the top of that form
    assert f'href="#id_a{delete.pk}-namespace"' in refused
    assert re.search(rf'name="a{delete.pk}-namespace"[^>]*aria-invalid="true"', refused)
    assert re.search(rf'<input[^>]*autofocus[^>]*id="id_a{delete.pk}-namespace"', refused)
    assert "runbooks-forms.js" in refused


def test_it_says_a_rate_limit_at_the_top_of_the_form_it_refused(sre_client, playbook, settings):
    settings.RUNBOOK_RATE_LIMIT = 1
    ping = Action.objects.filter(step__runbook__name="LeanVibeHighErrorRate", kind="redis_ping")
    act = ping.first()
    url = f"/runbooks/actions/{act.pk}/run?tenant_tier=enterprise"
    assert sre_client.post(url, {"mode": "run"}).status_code == 302
    again = sre_client.post(url, {"mode": "run"})
    assert again.status_code == 429
    page = again.content.decode()
    assert 'data-testid="error-summary"' in page and "the limit" in page
    assert 'tenant_tier="enterprise"' in page


def test_it_reads_the_ttl_from_the_settings(settings):
    settings.RUNBOOK_APPROVAL_TTL = 120
    assert approvals.ttl() == 120


def test_it_quotes_only_so_much_of_a_long_preview_in_a_notice(sre, playbook):
    preview = "\n".join(f"+ data.KEY_{n}: {'v' * 1000}" for n in range(50))
    run = actions.request_run(scale_action(), SCALE, actor=sre, preview=preview)
    body = approvals.compose(run, "requested").body
    assert "… 30 more line(s) on the run's page" in body
    assert max(len(line) for line in body.splitlines()) < 400
    assert f"/runbooks/runs/{run.pk}" in body
    with pytest.raises(ValueError):
        approvals.compose(run, "something else")
