"""The Alertmanager webhook: the bearer token, the version-4 payload validated as a whole,
every alert stored once per (fingerprint, start), closed when resolved; and a real
Alertmanager delivering to the live server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from firing import webhook
from firing.models import FiringAlert
from tests import services

TOKEN = "test-webhook-token-0123456789"
URL = "/api/alertmanager/webhook"
STARTS = "2025-03-04T10:00:00.123456789Z"


@pytest.fixture
def token(settings) -> str:
    settings.ALERTMANAGER_WEBHOOK_TOKEN = TOKEN
    return TOKEN


def an_alert(**overrides) -> dict:
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "LeanVibeHighResponseTime",
            "severity": "critical",
            "tenant_tier": "enterprise",
        },
        "annotations": {"summary": "p95 above 2 s", "description": "Enterprise p95 is 2.4 s"},
        "startsAt": STARTS,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": "4a3bd4e7c3f1a2b0",
    }
    alert.update(overrides)
    return alert


def a_payload(*alerts: dict, **overrides) -> dict:
    alerts = alerts or (an_alert(),)
    payload = {
        "version": "4",
        "groupKey": '{}:{alertname="LeanVibeHighResponseTime"}',
        "truncatedAlerts": 0,
        "status": alerts[0]["status"],
        "receiver": "controlpanel",
        "groupLabels": {"alertname": "LeanVibeHighResponseTime"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }
    payload.update(overrides)
    return payload


def deliver(client: Client, body: object, auth: str | None = f"Bearer {TOKEN}"):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    extra = {"HTTP_AUTHORIZATION": auth} if auth is not None else {}
    return client.post(URL, data=data, content_type="application/json", **extra)


def test_it_is_named_as_the_contract_says():
    assert reverse("firing:alertmanager-webhook") == URL


# --- the token --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "auth",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        "Bearer tökén-not-ascii",
    ],
)
def test_it_refuses_a_missing_or_wrong_token_with_401_and_stores_nothing(client, token, auth):
    response = deliver(client, a_payload(), auth=auth)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert FiringAlert.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_everything_while_no_token_is_configured(client, settings):
    settings.ALERTMANAGER_WEBHOOK_TOKEN = ""
    for auth in (None, "Bearer ", "Bearer anything"):
        response = deliver(client, a_payload(), auth=auth)
        assert response.status_code == 403
        assert "not configured" in response.json()["error"]
    assert FiringAlert.objects.count() == 0


@pytest.mark.django_db
def test_it_needs_neither_a_session_nor_a_csrf_token(token):
    response = deliver(Client(enforce_csrf_checks=True), a_payload())
    assert response.status_code == 200
    assert response.json() == {"stored": 1, "created": 1}


@pytest.mark.django_db
def test_it_accepts_only_post(client, token):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 405


# --- the payload ------------------------------------------------------------------------


def _without(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


MALFORMED = {
    "not JSON": (b"{not json", "body"),
    "not UTF-8": (b"\xff\xfe{}", "body"),
    "a list": ([an_alert()], "body"),
    "wrong version": (a_payload(version="3"), "version"),
    "version as a number": (a_payload(version=4), "version"),
    "no version": (_without(a_payload(), "version"), "version"),
    "missing alerts": (_without(a_payload(), "alerts"), "alerts"),
    "alerts not a list": (a_payload(alerts={"a": 1}), "alerts"),
    "bad group status": (a_payload(status="burning"), "status"),
    "no groupKey": (_without(a_payload(), "groupKey"), "groupKey"),
    "alert not an object": (a_payload(alerts=["x"]), "alerts[0]"),
    "labels not a dict": (a_payload(an_alert(labels=["a", "b"])), "alerts[0].labels"),
    "label value not a string": (
        a_payload(an_alert(labels={"alertname": "X", "severity": 2})),
        "alerts[0].labels.severity",
    ),
    "annotations missing": (
        a_payload(_without(an_alert(), "annotations")),
        "alerts[0].annotations",
    ),
    "bad startsAt": (a_payload(an_alert(startsAt="yesterday")), "alerts[0].startsAt"),
    "startsAt without a zone": (
        a_payload(an_alert(startsAt="2025-03-04T10:00:00")),
        "alerts[0].startsAt",
    ),
    "zero startsAt": (a_payload(an_alert(startsAt="0001-01-01T00:00:00Z")), "alerts[0].startsAt"),
    "bad endsAt": (a_payload(an_alert(endsAt=17)), "alerts[0].endsAt"),
    "bad alert status": (
        a_payload(an_alert(status="pending"), status="firing"),
        "alerts[0].status",
    ),
    "no fingerprint": (a_payload(_without(an_alert(), "fingerprint")), "alerts[0].fingerprint"),
    "empty fingerprint": (a_payload(an_alert(fingerprint="")), "alerts[0].fingerprint"),
    # The first alert is fine; the second is not: nothing at all is stored.
    "second alert bad": (
        a_payload(an_alert(), an_alert(fingerprint="b", generatorURL=None)),
        "alerts[1].generatorURL",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_it_refuses_a_malformed_body_with_400_naming_the_field(client, token, case):
    body, field = MALFORMED[case]
    response = deliver(client, body)
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["field"] == field
    assert answer["error"].startswith(f"{field}: ")
    assert FiringAlert.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_a_body_over_1_mb_with_413(client, token):
    big = a_payload(an_alert(annotations={"description": "x" * webhook.MAX_BODY_BYTES}))
    response = deliver(client, big)
    assert response.status_code == 413
    assert FiringAlert.objects.count() == 0


# --- bounds -----------------------------------------------------------------------------


def _nested(depth: int) -> dict:
    """A payload whose commonLabels nest ``depth`` levels deep in all (the body is one)."""
    inner: object = "x"
    for _ in range(depth - 1):
        inner = {"k": inner}
    return a_payload(commonLabels=inner)


@pytest.mark.django_db
def test_it_refuses_a_thousand_nested_brackets_with_400_and_stores_nothing(client, token):
    # The reproduction: 2 KB of brackets made the JSON decoder recurse until a RecursionError.
    body = b"[" * 1000 + b"]" * 1000
    response = deliver(client, body)
    assert response.status_code == 400
    assert response.json() == {
        "error": "body: arrays and objects nested deeper than 20 levels",
        "field": "body",
    }
    assert FiringAlert.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_unclosed_brackets_before_the_decoder_recurses_into_them(client, token):
    response = deliver(client, b'{"alerts": ' + b"[" * 100_000)
    assert response.status_code == 400
    assert response.json()["field"] == "body"
    assert "deeper than 20" in response.json()["error"]


def _labels(count: int) -> dict[str, str]:
    return {"alertname": "Many", **{f"l{i}": "v" for i in range(count - 1)}}


def _alerts(count: int) -> list[dict]:
    return [an_alert(fingerprint=f"{i:016x}", annotations={}) for i in range(count)]


NUL, SURROGATE = "\x00", "\ud800"
# Every bounded field of a delivery, one over its limit: (body, field, words of the limit).
OVER_THE_LIMIT = {
    "nested 21 deep": (_nested(21), "body", "deeper than 20 levels"),
    "1,001 alerts": (a_payload(*_alerts(1001)), "alerts", "more than 1,000"),
    "101 labels": (a_payload(an_alert(labels=_labels(101))), "alerts[0].labels", "more than 100"),
    "101 annotations": (
        a_payload(an_alert(annotations={f"a{i}": "v" for i in range(101)})),
        "alerts[0].annotations",
        "more than 100",
    ),
    "a label name of 201 characters": (
        a_payload(an_alert(labels={"alertname": "X", "n" * 201: "v"})),
        "alerts[0].labels",
        "longer than 200 characters",
    ),
    "a label value of 2,001 characters": (
        a_payload(an_alert(labels={"alertname": "X", "instance": "v" * 2001})),
        "alerts[0].labels.instance",
        "longer than 2,000 characters",
    ),
    "an annotation of 10,001 characters": (
        a_payload(an_alert(annotations={"description": "d" * 10_001})),
        "alerts[0].annotations.description",
        "longer than 10,000 characters",
    ),
    "a fingerprint of 65 characters": (
        a_payload(an_alert(fingerprint="f" * 65)),
        "alerts[0].fingerprint",
        "longer than 64 characters",
    ),
    "a receiver of 201 characters": (
        a_payload(receiver="r" * 201),
        "receiver",
        "longer than 200 characters",
    ),
    "a groupKey of 10,001 characters": (
        a_payload(groupKey="g" * 10_001),
        "groupKey",
        "longer than 10,000 characters",
    ),
    "NUL in a label value": (
        a_payload(an_alert(labels={"alertname": "X", "instance": f"a{NUL}b"})),
        "alerts[0].labels.instance",
        "NUL",
    ),
    "NUL in a label name": (
        a_payload(an_alert(labels={"alertname": "X", f"in{NUL}stance": "a"})),
        "alerts[0].labels",
        "NUL",
    ),
    "NUL in an annotation": (
        a_payload(an_alert(annotations={"summary": f"p95{NUL}"})),
        "alerts[0].annotations.summary",
        "NUL",
    ),
    "NUL in the receiver": (a_payload(receiver=f"panel{NUL}"), "receiver", "NUL"),
    "NUL in the generatorURL": (
        a_payload(an_alert(generatorURL=f"http://p/{NUL}")),
        "alerts[0].generatorURL",
        "NUL",
    ),
    "NUL in the fingerprint": (
        a_payload(an_alert(fingerprint=f"ab{NUL}")),
        "alerts[0].fingerprint",
        "NUL",
    ),
    "a lone surrogate in an annotation": (
        a_payload(an_alert(annotations={"summary": f"x{SURROGATE}"})),
        "alerts[0].annotations.summary",
        "lone surrogate",
    ),
    # The first alert is fine; the second breaks a bound: nothing at all is stored.
    "the second alert over a bound": (
        a_payload(an_alert(), an_alert(fingerprint="b", labels=_labels(101))),
        "alerts[1].labels",
        "more than 100",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(OVER_THE_LIMIT))
def test_it_refuses_a_field_over_its_bound_with_400_naming_the_field_and_limit(client, token, case):
    payload, field, limit = OVER_THE_LIMIT[case]
    body = json.dumps(payload)  # json escapes NUL and surrogates as \u0000 and \ud800
    assert len(body) < webhook.MAX_BODY_BYTES  # the bound refused it, not the body size
    response = deliver(client, body)
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["field"] == field
    assert answer["error"].startswith(f"{field}: ")
    assert limit in answer["error"]
    assert FiringAlert.objects.count() == 0


AT_THE_LIMIT = {
    "nested 20 deep": _nested(20),
    "1,000 alerts": a_payload(*_alerts(1000)),
    "100 labels and 100 annotations": a_payload(
        an_alert(labels=_labels(100), annotations={f"a{i}": "v" for i in range(100)})
    ),
    "the longest name and values": a_payload(
        an_alert(
            labels={"alertname": "X", "n" * 200: "v" * 2000},
            annotations={"description": "d" * 10_000},
        ),
        receiver="r" * 200,
    ),
    "brackets and escaped quotes inside strings": a_payload(
        an_alert(annotations={"description": '\\"' + "[{" * 4000})
    ),
    "emoji (surrogate pairs in JSON)": a_payload(an_alert(annotations={"summary": "\U0001f525"})),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(AT_THE_LIMIT))
def test_it_stores_a_delivery_at_its_bounds(client, token, case):
    payload = AT_THE_LIMIT[case]
    response = deliver(client, payload)
    assert response.status_code == 200, response.content
    assert FiringAlert.objects.count() == len(payload["alerts"])


@pytest.mark.parametrize(
    "body, depth",
    [
        (b"", 0),
        (b"4", 0),
        (b"{}", 1),
        (b'{"a": [{"b": {}}]}', 4),
        (b'{"a": "[[[[{{{{"}', 1),  # brackets in a string are text
        (b'["\\\\", [[]]]', 3),  # an escaped backslash ends before the quote
        (b'["\\"[[[", []]', 2),  # an escaped quote does not end the string
        (b"[[[", 3),  # unclosed brackets are nesting the decoder would enter
        (b"]]][[", 0),  # a stray closing bracket: the decoder stops there
        (b'["unterminated [[[[', 1),
    ],
)
def test_it_measures_nesting_as_the_decoder_would_recurse(body, depth):
    assert webhook.nesting_depth(body) == depth


def test_it_nests_the_bound_cases_as_deep_as_they_say():
    assert webhook.nesting_depth(json.dumps(_nested(20)).encode()) == 20
    assert webhook.nesting_depth(json.dumps(_nested(21)).encode()) == 21


# --- storing ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_stores_the_same_alert_once_however_often_it_is_delivered(client, token):
    first = deliver(client, a_payload())
    again = deliver(client, a_payload())
    assert first.json() == {"stored": 1, "created": 1}
    assert again.json() == {"stored": 1, "created": 0}
    row = FiringAlert.objects.get()
    assert row.deliveries == 2
    assert row.last_received_at > row.first_received_at
    assert row.status == "firing"
    assert row.alertname == "LeanVibeHighResponseTime"
    assert row.severity == "critical"
    assert row.labels["tenant_tier"] == "enterprise"
    assert row.annotations["summary"] == "p95 above 2 s"
    assert row.receiver == "controlpanel"
    # Go's nanoseconds, to Python's microseconds; the zero end time is "not ended".
    assert row.starts_at == datetime(2025, 3, 4, 10, 0, 0, 123456, tzinfo=UTC)
    assert row.ends_at is None


@pytest.mark.django_db
def test_it_keeps_apart_an_alert_that_fires_again_with_a_new_start(client, token):
    deliver(client, a_payload())
    response = deliver(client, a_payload(an_alert(startsAt="2025-03-04T12:00:00Z")))
    assert response.json() == {"stored": 1, "created": 1}
    assert FiringAlert.objects.count() == 2


@pytest.mark.django_db
def test_it_closes_an_earlier_firing_whose_resolution_never_arrived(client, token):
    deliver(client, a_payload())
    deliver(client, a_payload(an_alert(startsAt="2025-03-04T12:00:00Z")))
    earlier, later = FiringAlert.objects.order_by("starts_at")
    assert (earlier.status, earlier.ends_at) == ("resolved", later.starts_at)
    assert (later.status, later.ends_at) == ("firing", None)
    # A late delivery of the earlier one neither reopens it nor closes the later one.
    deliver(client, a_payload())
    earlier.refresh_from_db()
    later.refresh_from_db()
    assert (earlier.status, earlier.deliveries) == ("resolved", 2)
    assert later.status == "firing"


@pytest.mark.django_db
def test_it_closes_the_alert_when_a_resolved_delivery_comes(client, token):
    deliver(client, a_payload())
    resolved = an_alert(status="resolved", endsAt="2025-03-04T10:20:00Z")
    response = deliver(client, a_payload(resolved))
    assert response.json() == {"stored": 1, "created": 0}
    row = FiringAlert.objects.get()
    assert row.status == "resolved"
    assert row.ends_at == datetime(2025, 3, 4, 10, 20, tzinfo=UTC)
    assert row.deliveries == 2


@pytest.mark.django_db
def test_it_stores_a_resolution_it_never_saw_fire(client, token):
    response = deliver(client, a_payload(an_alert(status="resolved", endsAt=STARTS)))
    assert response.json() == {"stored": 1, "created": 1}
    assert FiringAlert.objects.get().status == "resolved"


@pytest.mark.django_db
def test_it_stores_several_alerts_of_a_group_in_one_delivery(client, token):
    alerts = [an_alert(fingerprint=f"{i:016x}") for i in range(5)]
    response = deliver(client, a_payload(*alerts))
    assert response.json() == {"stored": 5, "created": 5}
    assert FiringAlert.objects.count() == 5


@pytest.mark.django_db
def test_it_drops_a_source_link_too_long_for_its_column_not_the_alert(client, token):
    response = deliver(client, a_payload(an_alert(generatorURL="http://p/" + "q" * 1200)))
    assert response.status_code == 200
    assert FiringAlert.objects.get().generator_url == ""


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    # SQLite runs each write transaction alone (BEGIN IMMEDIATE), so the deliveries cannot
    # race there and the test could not fail; the race is real on PostgreSQL (`make
    # test-postgres`, which CI runs).
    reason="the race needs concurrent writers (PostgreSQL)",
)
@pytest.mark.django_db(transaction=True)
def test_it_stores_one_row_when_several_deliveries_of_a_new_alert_race():
    delivery = webhook.parse_payload(json.dumps(a_payload()).encode())
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def store() -> None:
        try:
            barrier.wait()
            webhook.store_delivery(delivery)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    row = FiringAlert.objects.get()
    assert row.deliveries == 4


# --- a real Alertmanager ----------------------------------------------------------------


@pytest.fixture
def delivering_alertmanager(live_server, tmp_path, settings) -> Iterator[services.Service]:
    """Alertmanager routing to the live server's webhook with the token from a file."""
    settings.ALERTMANAGER_WEBHOOK_TOKEN = TOKEN
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    config = services.webhook_alertmanager_config(f"{live_server.url}{URL}", token_file)
    service = services.alertmanager(tmp_path, config).start()
    yield service
    service.stop()


def _wait_for(predicate, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


@pytest.mark.services
def test_it_stores_what_a_real_alertmanager_delivers_once_and_closes_it(
    delivering_alertmanager,
):
    starts = datetime.now(UTC) - timedelta(minutes=3)
    alert = {
        "labels": {
            "alertname": "LeanVibeHighErrorRate",
            "severity": "warning",
            "tenant_tier": "team",
            "service": "leanvibe-backend",
        },
        "annotations": {
            "summary": "5xx above 1 %",
            "runbook_url": "/runbooks/LeanVibeHighErrorRate",
        },
        "startsAt": starts.isoformat(),
        "generatorURL": "http://127.0.0.1:9090/graph",
    }
    services.post_alerts(delivering_alertmanager.url, [alert])

    rows = FiringAlert.objects.filter(alertname="LeanVibeHighErrorRate")
    # Alertmanager repeats the notification every 2 s: still one row, counted deliveries.
    _wait_for(lambda: rows.filter(deliveries__gte=2).exists())
    assert rows.count() == 1
    row = rows.get()
    assert row.status == "firing"
    assert row.ends_at is None
    assert abs(row.starts_at - starts) < timedelta(milliseconds=1)
    assert row.labels["tenant_tier"] == "team"
    assert row.receiver == "panel"
    assert len(row.fingerprint) == 16

    services.post_alerts(
        delivering_alertmanager.url,
        [{**alert, "endsAt": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}],
    )
    _wait_for(lambda: rows.filter(status="resolved").exists())
    assert rows.count() == 1
    assert rows.get().ends_at is not None
