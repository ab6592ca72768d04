"""Notifications on state changes, delivered to a real SMTP server (aiosmtpd) and a real HTTP
receiver standing in for a Slack incoming webhook."""

from __future__ import annotations

import email
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from alerts import notify
from alerts.cycle import signature
from alerts.models import Check, StateChange, Threshold
from alerts.tasks import queue_notifications, run_cycle, send_notifications
from controlpanel.celery import app
from core.choices import Severity, State
from notifications import delivery
from notifications.choices import ChannelKind
from notifications.models import Notification, NotificationChannel
from tests import services
from tests.conftest import celery_broker

pytestmark = pytest.mark.django_db


# --- the receivers ------------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox(settings) -> Iterator[Inbox]:
    handler = Inbox()
    port = services.free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    # pytest-django swaps in the locmem backend; these tests want the real SMTP conversation.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.DEFAULT_FROM_EMAIL = "monitoring@leanvibe.test"
    settings.PANEL_URL = "https://panel.leanvibe.test"
    yield handler
    controller.stop()


class Webhook(ThreadingHTTPServer):
    """Slack-compatible receiver: keeps (path, JSON) of every POST; paths under /broken
    answer 500, like a revoked webhook."""

    received: list[tuple[str, dict[str, Any]]]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def texts(self, path: str) -> list[str]:
        return [body["text"] for p, body in self.received if p == path]


class _WebhookHandler(BaseHTTPRequestHandler):
    server: Webhook

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.path, body))
        broken = self.path.startswith("/broken")
        self.send_response(500 if broken else 200)
        self.end_headers()
        self.wfile.write(b"invalid_token" if broken else b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    server = Webhook(("127.0.0.1", 0), _WebhookHandler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# --- data -----------------------------------------------------------------------------------


@pytest.fixture
def playbook() -> None:
    call_command("load_playbook", stdout=open("/dev/null", "w"))  # noqa: SIM115


def change(
    threshold_key: str,
    from_state: str,
    to_state: str,
    *,
    value: float | None = None,
    labels: dict[str, str] | None = None,
    reason: str = "",
) -> StateChange:
    threshold = Threshold.objects.get(key=threshold_key)
    labels = dict(threshold.scope) if labels is None else labels
    check, _ = Check.objects.get_or_create(
        signature=signature(threshold.key, labels),
        defaults={"threshold": threshold, "labels": labels, "state": to_state},
    )
    return StateChange.objects.create(
        check_obj=check,
        at=datetime(2024, 11, 20, 14, 5, tzinfo=UTC),
        from_state=from_state,
        to_state=to_state,
        value=value,
        warning=threshold.warning,
        critical=threshold.critical,
        reason=reason,
    )


def channel(name: str, kind: str, target: str, **fields: Any) -> NotificationChannel:
    return NotificationChannel.objects.create(name=name, kind=kind, target=target, **fields)


# --- which changes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_state", "to_state", "expected"),
    [
        (State.OK, State.WARNING, True),
        (State.PENDING, State.CRITICAL, True),
        (State.NO_DATA, State.WARNING, True),  # a new check that is breached at once
        (State.WARNING, State.CRITICAL, True),
        (State.CRITICAL, State.WARNING, True),
        (State.CRITICAL, State.OK, True),
        (State.WARNING, State.OK, True),
        (State.CRITICAL, State.NO_DATA, True),  # vanished while breached: not a recovery
        (State.WARNING, State.ERROR, True),
        (State.OK, State.PENDING, False),
        (State.PENDING, State.OK, False),
        (State.NO_DATA, State.OK, False),
        (State.OK, State.NO_DATA, False),
        (State.OK, State.ERROR, False),
        (State.ERROR, State.OK, False),
    ],
)
def test_it_notifies_breaches_their_end_and_nothing_else(from_state, to_state, expected):
    assert notify.should_notify(from_state, to_state) is expected


# --- content and delivery ------------------------------------------------------------------


def test_it_emails_a_breach_with_what_the_on_call_engineer_needs(playbook, inbox):
    channel("on-call", ChannelKind.EMAIL, "oncall@leanvibe.test, sre@leanvibe.test")
    critical = change(
        "api_p95_latency.enterprise",
        State.OK,
        State.CRITICAL,
        value=0.62,
        reason="0.62 > 0.5 (critical)",
    )

    sent = notify.notify([critical])

    assert [n.is_delivered for n in sent] == [True]
    assert sent[0].state_change == critical
    [(recipients, message)] = inbox.messages
    assert recipients == ["oncall@leanvibe.test", "sre@leanvibe.test"]
    assert message["From"] == "monitoring@leanvibe.test"
    assert message["Subject"] == (
        "[CRITICAL] LeanVibeHighResponseTime tenant_tier=enterprise: ok -> critical"
    )
    body = message.get_content()
    assert "Service: leanvibe-backend" in body
    assert "Scope: tenant_tier=enterprise" in body
    assert "Value: 620 ms" in body
    assert "Thresholds: warning > 200 ms, critical > 500 ms" in body
    assert "Reason: 620 ms > 500 ms (critical)" in body
    assert "At: 2024-11-20 14:05:00 UTC" in body
    assert f"History: https://panel.leanvibe.test/checks/{critical.check_obj.pk}/history" in body


def test_it_posts_the_same_text_to_a_slack_webhook(playbook, inbox, webhook):
    channel("slack", ChannelKind.SLACK, webhook.url("/services/T0/B0/x"))
    warning = change("disk_usage", State.PENDING, State.WARNING, value=88.5, reason="88.5 > 85")

    [sent] = notify.notify([warning])

    assert sent.is_delivered and sent.error == ""
    [text] = webhook.texts("/services/T0/B0/x")
    assert text.startswith("*[WARNING] HighDiskUsage: pending -> warning*\n")
    assert "Value: 88.5 %" in text
    assert "Scope: all series" in text
    assert text.endswith(f"/checks/{warning.check_obj.pk}/history")


def test_it_says_a_relative_change_with_its_sign_and_window(playbook, webhook):
    channel("slack", ChannelKind.SLACK, webhook.url("/hook"))
    notify.notify([change("mrr", State.OK, State.CRITICAL, value=-18.25)])

    [text] = webhook.texts("/hook")
    assert "Value: -18.2 %" in text
    assert "Thresholds: warning < -5 %, critical < -15 % (change against 30d before)" in text


def test_it_sends_the_recovery_as_resolved(playbook, inbox):
    channel("team", ChannelKind.EMAIL, "team@leanvibe.test")
    recovery = change("api_error_rate", State.CRITICAL, State.OK, value=0.4)

    notify.notify([recovery])

    [(_, message)] = inbox.messages
    assert message["Subject"] == "[RESOLVED] LeanVibeHighErrorRate: critical -> ok"
    assert "not a recovery" not in message.get_content()


def test_it_does_not_let_vanished_data_look_like_a_recovery(playbook, webhook):
    channel("slack", ChannelKind.SLACK, webhook.url("/hook"))
    gone = change(
        "node_cpu",
        State.CRITICAL,
        State.NO_DATA,
        reason="the query returned nothing (was critical: not a recovery)",
    )

    notify.notify([gone])

    [text] = webhook.texts("/hook")
    assert text.startswith("*[NO DATA] HighCPUUsage: critical -> no_data*")
    assert "This is not a recovery: the check cannot be judged until data returns." in text
    assert "Value: —" in text


def test_it_stays_quiet_about_changes_that_were_never_a_breach(playbook, webhook):
    channel("slack", ChannelKind.SLACK, webhook.url("/hook"))
    quiet = [
        change("node_cpu", State.OK, State.PENDING),
        change("node_memory", State.NO_DATA, State.OK),
        change("disk_usage", State.OK, State.ERROR),
    ]

    assert notify.notify(quiet) == []
    assert webhook.received == []
    assert not Notification.objects.exists()


# --- routing -------------------------------------------------------------------------------


def test_it_routes_by_category_and_severity(playbook, webhook):
    channel("business", ChannelKind.SLACK, webhook.url("/business"), categories=["business"])
    channel("pager", ChannelKind.SLACK, webhook.url("/pager"), min_severity=Severity.CRITICAL)
    channel("everything", ChannelKind.SLACK, webhook.url("/all"))
    channel("muted", ChannelKind.SLACK, webhook.url("/muted"), is_enabled=False)
    changes = [
        change("tenant_signups", State.OK, State.WARNING, value=-35.0),  # business, warning
        change("redis_memory", State.OK, State.WARNING, value=82.0),  # cache, warning
        change("redis_memory", State.WARNING, State.CRITICAL, value=97.0),  # cache, critical
        change("disk_usage", State.WARNING, State.OK, value=60.0),  # warning ends
        change("node_cpu", State.CRITICAL, State.OK, value=40.0),  # critical ends: on-call too
    ]

    notify.notify(changes)

    def subjects(path: str) -> list[str]:
        return [text.split("*")[1] for text in webhook.texts(path)]

    assert subjects("/business") == ["[WARNING] LowTenantSignupRate: ok -> warning"]
    assert subjects("/pager") == [
        "[CRITICAL] RedisHighMemory: warning -> critical",
        "[RESOLVED] HighCPUUsage: critical -> ok",
    ]
    assert len(subjects("/all")) == 5
    assert webhook.texts("/muted") == []


# --- failures ------------------------------------------------------------------------------


def test_it_records_a_failing_channel_and_still_delivers_to_the_others(playbook, inbox, webhook):
    broken = channel("revoked", ChannelKind.SLACK, webhook.url("/broken"))
    nobody = channel("gone", ChannelKind.SLACK, f"http://127.0.0.1:{services.free_port()}/")
    mailing = channel("team", ChannelKind.EMAIL, "team@leanvibe.test")
    breach = change("api_error_rate", State.OK, State.WARNING, value=2.5)

    notify.notify([breach])

    by_channel = {n.channel: n for n in Notification.objects.filter(state_change=breach)}
    assert not by_channel[broken].is_delivered
    assert by_channel[broken].error == "DeliveryError: HTTP 500: invalid_token"
    assert not by_channel[nobody].is_delivered
    assert by_channel[nobody].error.startswith("ConnectionError: ")
    assert by_channel[mailing].is_delivered
    assert len(inbox.messages) == 1


def test_it_records_an_unreachable_mail_server_and_still_posts_to_slack(
    playbook, inbox, webhook, settings
):
    settings.EMAIL_PORT = services.free_port()  # nobody listens there
    mailing = channel("team", ChannelKind.EMAIL, "team@leanvibe.test")
    slack = channel("slack", ChannelKind.SLACK, webhook.url("/hook"))

    notify.notify([change("api_error_rate", State.OK, State.CRITICAL, value=7.0)])

    failed = Notification.objects.get(channel=mailing)
    assert not failed.is_delivered
    assert failed.error.startswith("ConnectionRefusedError: ")
    assert failed.subject == "[CRITICAL] LeanVibeHighErrorRate: ok -> critical"
    assert Notification.objects.get(channel=slack).is_delivered
    assert len(webhook.texts("/hook")) == 1


def test_it_records_what_it_had_no_time_left_to_try(playbook, webhook):
    slack = channel("slack", ChannelKind.SLACK, webhook.url("/hook"))

    notify.notify([change("node_cpu", State.OK, State.WARNING, value=85.0)], budget=-1)

    attempt = Notification.objects.get(channel=slack)
    assert not attempt.is_delivered
    assert attempt.error == delivery.NOT_ATTEMPTED
    assert webhook.received == []


# --- the task and the cycle's hook ----------------------------------------------------------


def test_it_sends_from_the_task_and_skips_changes_that_are_gone(playbook, webhook):
    channel("slack", ChannelKind.SLACK, webhook.url("/hook"))
    breach = change("node_memory", State.OK, State.WARNING, value=81.0)

    send_notifications([breach.pk, breach.pk + 1000])

    assert len(webhook.texts("/hook")) == 1


def test_it_queues_nothing_without_an_enabled_channel(playbook, django_capture_on_commit_callbacks):
    channel("muted", ChannelKind.EMAIL, "a@leanvibe.test", is_enabled=False)
    breach = change("node_memory", State.OK, State.WARNING, value=81.0)

    with django_capture_on_commit_callbacks() as callbacks:
        queue_notifications([breach])

    assert callbacks == []


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_it_notifies_from_the_evaluation_cycle_through_a_real_broker_and_worker(
    playbook, webhook, redis_server, settings
):
    channel("slack", ChannelKind.SLACK, webhook.url("/hook"))
    threshold = Threshold.objects.get(key="disk_usage")
    Check.objects.create(
        threshold=threshold,
        labels={},
        signature=signature(threshold.key, {}),
        state=State.CRITICAL,
        value=97.0,
    )
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{services.free_port()}"  # gone mid-incident
    with (
        celery_broker(redis_server.url),
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        run_cycle()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not webhook.received:
            time.sleep(0.1)

    [text] = webhook.texts("/hook")
    assert text.startswith("*[ERROR] HighDiskUsage: critical -> error*")
    assert "Reason: datasource error: unreachable: connection refused" in text
    assert "This is not a recovery" in text


# --- admin ---------------------------------------------------------------------------------


def test_it_sends_a_test_notification_from_the_change_form(admin_client, inbox):
    team = channel("team", ChannelKind.EMAIL, "team@leanvibe.test", is_enabled=False)
    page = admin_client.get(f"/admin/notifications/notificationchannel/{team.pk}/change/")
    assert f'action="/admin/notifications/notificationchannel/{team.pk}/test/"' in page.text

    response = admin_client.post(
        f"/admin/notifications/notificationchannel/{team.pk}/test/", follow=True
    )

    assert "Test notification delivered to team." in response.text
    [(recipients, message)] = inbox.messages
    assert recipients == ["team@leanvibe.test"]
    assert message["Subject"] == "[TEST] LeanVibe monitoring: test notification for team"
    assert "This is a test notification. No check changed state" in message.get_content()
    assert "Sent by admin" in message.get_content()
    assert Notification.objects.get(channel=team).is_delivered


def test_it_shows_the_error_of_a_failing_test_notification(admin_client, webhook):
    revoked = channel("revoked", ChannelKind.SLACK, webhook.url("/broken"))

    response = admin_client.post(
        f"/admin/notifications/notificationchannel/{revoked.pk}/test/", follow=True
    )

    assert "Test notification to revoked failed: DeliveryError: HTTP 500" in response.text
    assert Notification.objects.get(channel=revoked).error.startswith("DeliveryError: HTTP 500")


def test_it_sends_test_notifications_as_an_action_on_the_list(admin_client, webhook):
    one = channel("one", ChannelKind.SLACK, webhook.url("/one"))
    two = channel("two", ChannelKind.SLACK, webhook.url("/two"))

    response = admin_client.post(
        "/admin/notifications/notificationchannel/",
        {"action": "send_test_notification", "_selected_action": [one.pk, two.pk]},
        follow=True,
    )

    assert "Test notification delivered to one." in response.text
    assert "Test notification delivered to two." in response.text
    assert webhook.texts("/one")[0].startswith("*[TEST] ")
    assert webhook.texts("/two")[0].startswith("*[TEST] ")


def test_it_does_not_send_a_test_on_get(admin_client, webhook):
    hook = channel("hook", ChannelKind.SLACK, webhook.url("/hook"))

    response = admin_client.get(f"/admin/notifications/notificationchannel/{hook.pk}/test/")

    assert response.status_code == 405
    assert webhook.received == []


def _add(admin_client, **data: Any):
    form = {"name": "new", "kind": "email", "target": "", "min_severity": "warning"}
    form.update(data)
    return admin_client.post("/admin/notifications/notificationchannel/add/", form)


def test_it_validates_channel_targets_and_categories(admin_client):
    bad_email = _add(admin_client, target="oncall@leanvibe.test, not-an-address")
    assert "Not a valid email address: not-an-address" in bad_email.text
    bad_url = _add(admin_client, kind="slack", target="ftp://hooks.example.test/x")
    assert "Give the webhook&#x27;s http(s) URL." in bad_url.text
    bad_category = _add(admin_client, target="a@leanvibe.test", categories=["api"])
    assert "Select a valid choice. api is not one of the available choices." in bad_category.text
    assert not NotificationChannel.objects.exists()

    saved = _add(
        admin_client,
        target="a@leanvibe.test;  b@leanvibe.test",
        categories=["business"],
        min_severity="critical",
        is_enabled="on",
    )

    assert saved.status_code == 302
    created = NotificationChannel.objects.get()
    assert created.target == "a@leanvibe.test, b@leanvibe.test"
    assert created.categories == ["business"]


def test_it_keeps_deliveries_read_only(admin_client):
    hook = channel("hook", ChannelKind.SLACK, "http://127.0.0.1:9/hook")
    sent = Notification.objects.create(channel=hook, subject="s", body="b", error="HTTP 500")

    assert admin_client.get("/admin/notifications/notification/add/").status_code == 403
    detail = admin_client.get(f"/admin/notifications/notification/{sent.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.text
    assert (
        admin_client.post(f"/admin/notifications/notification/{sent.pk}/delete/").status_code == 403
    )
    assert admin_client.get("/admin/notifications/notification/").status_code == 200
