"""Alertmanager's webhook (payload version 4): the token checked, the whole payload validated
before anything is written, then every alert stored in one transaction, once per fingerprint
and start time however often Alertmanager delivers it.

The payload is documented at
https://prometheus.io/docs/alerting/latest/configuration/#webhook_config.
"""

from __future__ import annotations

import hmac
import itertools
import json
import operator
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from firing.choices import FiringStatus, Resolution
from firing.models import FiringAlert

# A delivery of a few hundred alerts is well under this; a bigger body is a misconfiguration
# or an attack, and reading it would cost memory before we could refuse it.
MAX_BODY_BYTES = 1_000_000
# Alertmanager's JSON for Go's zero time: a firing alert's endsAt is not known yet.
ZERO_TIME_YEAR = 1

# Bounds of a delivery, each checked before anything is stored. Alertmanager's own payload
# nests four deep (body, alerts, alert, labels); Python's JSON decoder recurses once per level
# and a body of a thousand brackets would exhaust the stack, so depth is counted on the bytes
# before the decoder sees them.
MAX_DEPTH = 20
# A group bigger than this is an alert storm: Alertmanager's `max_alerts: 1000` in the
# webhook_config sends the first thousand and counts the rest in truncatedAlerts.
MAX_ALERTS = 1000
# Prometheus rules rarely carry more than a few dozen labels; the limits keep one alert's row,
# and the page that shows it, a size a person can read.
MAX_PAIRS = 100  # labels, and annotations, per alert
MAX_NAME_CHARS = 200  # a label or annotation name
MAX_LABEL_VALUE_CHARS = 2000
MAX_ANNOTATION_CHARS = 10_000  # a description or summary
_FIELD_LIMITS = {"fingerprint": 64, "receiver": 200, "groupKey": 10_000}
_STATUSES = {s.value for s in FiringStatus}

# Strings may hold brackets. An unterminated string runs to the end of the body (the decoder
# refuses it later), so that every quote is scanned once and the scan stays linear.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\[\s\S]?)*+(?:"|\Z)')
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
# An opening bracket counts 2, a closing one 0 (see nesting_depth).
_OPENING_AS_TWO = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
# PostgreSQL's text and jsonb cannot hold NUL, and UTF-8 cannot encode a lone surrogate (JSON's
# "\ud800" decodes to one): either would fail the insert with a 500 after the check passed.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class BodyTooLarge(Exception):
    pass


class PayloadError(ValueError):
    """The payload is not what Alertmanager sends; ``field`` names where, like
    ``alerts[2].labels``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass(frozen=True)
class DeliveredAlert:
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str


@dataclass(frozen=True)
class Delivery:
    group_key: str
    status: str
    receiver: str
    alerts: tuple[DeliveredAlert, ...]


@dataclass(frozen=True)
class Stored:
    stored: int
    created: int


def is_authorized(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time (as bytes: hmac refuses
    non-ASCII text, and a header may carry anything)."""
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


def read_body(request: HttpRequest) -> bytes:
    """The body, refused before it is read when its declared length is too big, and while
    reading when it has no declared length."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise BodyTooLarge
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge
    return body


def nesting_depth(body: bytes, *, stop_above: int | None = None) -> int:
    """How deep the JSON decoder would recurse into ``body``'s arrays and objects, counted on
    the bytes without recursion and in C loops (milliseconds for a delivery; a megabyte of
    nothing but brackets takes about a tenth of a second). Strings are dropped, then every
    byte but a bracket; the depth after a bracket is the openings so far less the closings,
    which is the running sum of 2 per opening less one per bracket. Unbalanced brackets count
    too: the decoder recurses into ``[[[`` before it finds that nothing closes. With
    ``stop_above``, the count stops at the first depth past it (a megabyte of openings is
    refused after a few dozen of them)."""
    steps = _JSON_STRING.sub(b"", body).translate(_OPENING_AS_TWO, _NOT_A_BRACKET)
    depths = map(operator.sub, itertools.accumulate(steps), itertools.count(1))
    if stop_above is not None:
        return next((d for d in depths if d > stop_above), 0)
    return max(itertools.chain((0,), depths))


def _storable(value: str, field: str) -> str:
    found = _UNSTORABLE.search(value)
    if found is None:
        return value
    if found.group() == "\x00":
        raise PayloadError(field, "contains a NUL character (\\u0000), which cannot be stored")
    raise PayloadError(field, "contains a lone surrogate (\\ud800-\\udfff), not valid Unicode")


def _string(data: dict[str, Any], key: str, path: str, *, allow_empty: bool = True) -> str:
    if key not in data:
        raise PayloadError(f"{path}{key}", "missing")
    value = data[key]
    if not isinstance(value, str):
        raise PayloadError(f"{path}{key}", f"must be a string, not {type(value).__name__}")
    if not allow_empty and not value:
        raise PayloadError(f"{path}{key}", "must not be empty")
    limit = _FIELD_LIMITS.get(key)
    if limit and len(value) > limit:
        raise PayloadError(f"{path}{key}", f"longer than {limit:,} characters")
    return _storable(value, f"{path}{key}")


def _string_map(data: dict[str, Any], key: str, path: str, *, max_value: int) -> dict[str, str]:
    """Labels or annotations: at most ``MAX_PAIRS`` names of at most ``MAX_NAME_CHARS``, each
    with a string of at most ``max_value`` characters. A name is checked before it is put in
    a field name, so an error never echoes more than ``MAX_NAME_CHARS`` of it."""
    field = f"{path}{key}"
    if key not in data:
        raise PayloadError(field, "missing")
    value = data[key]
    if not isinstance(value, dict):
        raise PayloadError(field, f"must be an object, not {type(value).__name__}")
    if len(value) > MAX_PAIRS:
        raise PayloadError(field, f"more than {MAX_PAIRS} {key} ({len(value):,})")
    for name, item in value.items():
        if len(name) > MAX_NAME_CHARS:
            raise PayloadError(field, f"a name is longer than {MAX_NAME_CHARS} characters")
        _storable(name, field)
        if not isinstance(item, str):
            raise PayloadError(f"{field}.{name}", "must be a string")
        if len(item) > max_value:
            raise PayloadError(f"{field}.{name}", f"longer than {max_value:,} characters")
        _storable(item, f"{field}.{name}")
    return dict(value)


def _time(data: dict[str, Any], key: str, path: str) -> datetime | None:
    text = _string(data, key, path)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise PayloadError(f"{path}{key}", f"{text!r:.60} is not an RFC 3339 time with a zone")
    return None if value.year == ZERO_TIME_YEAR else value


def _alert(data: Any, path: str) -> DeliveredAlert:
    if not isinstance(data, dict):
        raise PayloadError(path.rstrip("."), "must be an object")
    status = _string(data, "status", path)
    if status not in _STATUSES:
        raise PayloadError(f"{path}status", f"{status!r:.30} is neither firing nor resolved")
    starts_at = _time(data, "startsAt", path)
    if starts_at is None:
        raise PayloadError(f"{path}startsAt", "an alert must have a start time")
    return DeliveredAlert(
        fingerprint=_string(data, "fingerprint", path, allow_empty=False),
        status=status,
        labels=_string_map(data, "labels", path, max_value=MAX_LABEL_VALUE_CHARS),
        annotations=_string_map(data, "annotations", path, max_value=MAX_ANNOTATION_CHARS),
        starts_at=starts_at,
        ends_at=_time(data, "endsAt", path),
        generator_url=_string(data, "generatorURL", path),
    )


def parse_payload(body: bytes) -> Delivery:
    """The delivery, or a ``PayloadError`` naming the first field that is wrong and the limit
    it broke. Nothing is stored before the whole delivery passed."""
    if nesting_depth(body, stop_above=MAX_DEPTH) > MAX_DEPTH:
        raise PayloadError("body", f"arrays and objects nested deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError("body", f"not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise PayloadError("body", "must be a JSON object")
    version = data.get("version")
    if version != "4":
        raise PayloadError(
            "version", f'must be "4" (the version this panel reads), not {version!r}'
        )
    status = _string(data, "status", "")
    if status not in _STATUSES:
        raise PayloadError("status", f"{status!r:.30} is neither firing nor resolved")
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("alerts", "missing or not a list")
    if len(alerts) > MAX_ALERTS:
        raise PayloadError(
            "alerts",
            f"{len(alerts):,} alerts in one delivery, more than {MAX_ALERTS:,} "
            f"(set max_alerts: {MAX_ALERTS} in Alertmanager's webhook_config)",
        )
    return Delivery(
        group_key=_string(data, "groupKey", ""),
        status=status,
        receiver=_string(data, "receiver", ""),
        alerts=tuple(_alert(item, f"alerts[{i}].") for i, item in enumerate(alerts)),
    )


def _row_values(alert: DeliveredAlert, receiver: str, now: datetime) -> dict[str, Any]:
    is_resolved = alert.status == FiringStatus.RESOLVED
    return {
        "status": alert.status,
        # A firing row has no end; a resolved one without endsAt ended when we heard of it.
        "ends_at": (alert.ends_at or now) if is_resolved else None,
        "resolution": Resolution.DELIVERED if is_resolved else Resolution.NONE,
        "alertname": alert.labels.get("alertname", "")[:200],
        "severity": alert.labels.get("severity", "")[:20],
        "labels": alert.labels,
        "annotations": alert.annotations,
        # A link is a convenience: one too long for the column is dropped, not the alert.
        "generator_url": alert.generator_url if len(alert.generator_url) <= 1000 else "",
        "receiver": receiver,
        "last_received_at": now,
    }


def _store_one(alert: DeliveredAlert, receiver: str, now: datetime) -> bool:
    """True when the row was created. For one start, the latest delivery wins the status:
    Alertmanager notifies one group at a time, so a firing delivery after a resolved one means
    the alert came back with the same start (it does so when Prometheus resumes sending it)."""
    key = {"fingerprint": alert.fingerprint, "starts_at": alert.starts_at}
    values = _row_values(alert, receiver, now)
    # Alertmanager holds one alert per fingerprint: one that started later means the earlier
    # one is over, even if its resolution never reached us (the panel was down for longer
    # than Alertmanager retried). It ended by this start at the latest.
    same = FiringAlert.objects.filter(fingerprint=alert.fingerprint)
    same.filter(status=FiringStatus.FIRING, starts_at__lt=alert.starts_at).update(
        status=FiringStatus.RESOLVED, ends_at=alert.starts_at, resolution=Resolution.DELIVERED
    )
    # For the same reason a late delivery of the earlier one cannot reopen it.
    later = (
        same.filter(starts_at__gt=alert.starts_at)
        .order_by("starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )
    if later is not None and values["status"] == FiringStatus.FIRING:
        values.update(status=FiringStatus.RESOLVED, ends_at=later, resolution=Resolution.DELIVERED)
    rows = FiringAlert.objects.filter(**key)
    if rows.update(**values, deliveries=F("deliveries") + 1):
        return False
    try:
        # Alertmanager retries a delivery it gave up waiting for, so two requests can insert
        # the same new alert at once: the loser's savepoint rolls back and it updates instead.
        with transaction.atomic():
            FiringAlert.objects.create(**key, **values, first_received_at=now)
    except IntegrityError:
        rows.update(**values, deliveries=F("deliveries") + 1)
        return False
    return True


@transaction.atomic
def store_delivery(delivery: Delivery, *, now: datetime | None = None) -> Stored:
    """Store every alert of a validated delivery, all or nothing."""
    now = now or timezone.now()
    created = sum(_store_one(alert, delivery.receiver, now) for alert in delivery.alerts)
    return Stored(stored=len(delivery.alerts), created=created)
