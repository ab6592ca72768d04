"""The one module that talks to Alertmanager (its v2 API): the alerts it holds with their
silence status and current annotations, and silences listed, read, created, updated and
expired.

Everything else asks this module; tests run it against real Alertmanager processes. Failures
are raised as ``AlertmanagerError`` with a kind, because "Alertmanager is down" and
"Alertmanager refused this silence" call for different things from the person on call.

``ALERTMANAGER_URL`` may name the peers of a gossip cluster, comma-separated. A call goes to
a peer that answers: one that is down is logged, skipped and asked last for ``SKIP_SECONDS``
(``peers_down`` says which, for the pages). Silences written to one peer reach the others by
gossip, and reads keep to the same first healthy peer, so a silence just made is seen. A
write is moved to another peer only when the first could not be reached at all: one that
timed out may have taken it, and sending it again would make a second silence.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import regex
import requests
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from core import failover
from core.network import connection_failure

# (connect, read) in seconds. Alertmanager answers these calls in milliseconds; a page that
# waits longer is worse than one that says "Alertmanager unreachable".
TIMEOUT = (2.0, 5.0)


class AlertmanagerError(Exception):
    """Alertmanager could not be asked, or refused or garbled the answer."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    REJECTED = "rejected"  # it answered 4xx/5xx: a bad silence, an unknown id, ...
    BAD_ANSWER = "bad_answer"

    WORDS = {
        UNREACHABLE: "Alertmanager unreachable",
        TIMEOUT: "Alertmanager did not answer in time",
        REJECTED: "Alertmanager refused the request",
        BAD_ANSWER: "Alertmanager gave an answer the panel does not understand",
    }

    def __init__(
        self,
        kind: str,
        reason: str,
        url: str,
        status: int | None = None,
        *,
        never_sent: bool = False,
    ) -> None:
        super().__init__(f"{self.WORDS[kind]} ({url}): {reason}")
        self.kind, self.reason, self.url, self.status = kind, reason, url, status
        # no connection was made: the request cannot have reached Alertmanager
        self.never_sent = never_sent

    @property
    def is_down(self) -> bool:
        return self.kind in (self.UNREACHABLE, self.TIMEOUT)

    @property
    def is_not_found(self) -> bool:
        # Alertmanager 0.25 (Debian's) answers an unknown silence id with 500 "silence not
        # found"; later versions with 404.
        return self.status == 404 or (self.kind == self.REJECTED and "not found" in self.reason)


# --- matchers --------------------------------------------------------------------------------

log = logging.getLogger(__name__)
# Seconds one silence regex may take on one label value (a page matches silences by alerts).
REGEX_TIMEOUT = 0.05

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# name="value", name!="value", name=~"regex", name!~"regex" (Alertmanager's and amtool's syntax).
MATCHER = re.compile(
    r'^\s*(?P<name>[^\s=!~"]+)\s*(?P<op>=~|!~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*$'
)
OPERATORS = {"=": (False, True), "!=": (False, False), "=~": (True, True), "!~": (True, False)}


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """One line of ``name="value"`` syntax; raises ValueError saying what is wrong."""
        found = MATCHER.match(text)
        if not found:
            raise ValueError(
                f'{text.strip()!r} is not a matcher like name="value", name!="value", '
                'name=~"regex" or name!~"regex"'
            )
        name = found["name"]
        if not LABEL_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a label name")
        value = re.sub(r"\\(.)", r"\1", found["value"])
        is_regex, is_equal = OPERATORS[found["op"]]
        if is_regex:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{name}: {value!r} is not a regular expression: {exc}") from exc
        return cls(name, value, is_regex, is_equal)

    def __str__(self) -> str:
        op = {v: k for k, v in OPERATORS.items()}[(self.is_regex, self.is_equal)]
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{op}"{escaped}"'

    def matches(self, labels: dict[str, str]) -> bool:
        """As Alertmanager decides: a missing label is the empty string, regexes are anchored."""
        value = labels.get(self.name, "")
        if not self.is_regex:
            return (value == self.value) == self.is_equal
        try:
            hit = regex.fullmatch(self.value, value, timeout=REGEX_TIMEOUT) is not None
        except TimeoutError:
            # Alertmanager's RE2 never backtracks; ours may. Past the limit the panel cannot
            # tell here, and says "no match" rather than holding the page.
            log.warning("silence regex %r timed out on %r", self.value, value[:100])
            return False
        return hit == self.is_equal

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.is_equal,
        }

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Matcher:
        return cls(
            str(data["name"]),
            str(data["value"]),
            bool(data.get("isRegex", False)),
            bool(data.get("isEqual", True)),
        )


# --- what Alertmanager holds -------------------------------------------------------------------


@dataclass(frozen=True)
class HeldAlert:
    """An alert as Alertmanager holds it now: ``state`` is active, suppressed or unprocessed;
    ``silenced_by`` the ids of the silences that mute it; ``annotations`` as Prometheus last
    sent them (a value in a summary is the latest evaluation's, not the first
    notification's)."""

    fingerprint: str
    labels: dict[str, str]
    state: str
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    state: str  # active, pending or expired
    created_by: str
    comment: str
    updated_at: datetime | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    @property
    def length(self) -> timedelta:
        return self.ends_at - self.starts_at


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _optional_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def peers(url: str | None = None) -> list[str]:
    """The Alertmanagers to ask: ``url``, else ``ALERTMANAGER_URL``, split at commas."""
    return failover.split(url or settings.ALERTMANAGER_URL)


def _base(url: str | None) -> str:
    return ",".join(peers(url))


# Which peers were down lately (core.failover): a call asks the others first.
asking_order = failover.AskingOrder()
IDEMPOTENT = ("GET", "DELETE")


def peers_down() -> list[tuple[str, str]]:
    """The configured peers found down lately, with why (for a note on the pages), while the
    cluster has more than one."""
    configured = peers()
    return asking_order.down(configured) if len(configured) > 1 else []


def _request(
    method: str,
    path: str,
    *,
    json: Any = None,
    params: dict[str, str] | None = None,
    url: str | None = None,
    timeout: float | tuple[float, float] | None = None,
) -> Any:
    """The call on a peer that answers (module docstring); the last peer's error when none
    does."""
    bases = asking_order.order(peers(url))
    for index, base in enumerate(bases):
        try:
            answer = _request_from(base, method, path, json, params, timeout)
        except AlertmanagerError as exc:
            # a write moves on only when it never reached the peer (refused, or no
            # connection in time); one dropped after sending may have landed
            movable = exc.never_sent or (exc.is_down and method in IDEMPOTENT)
            if exc.is_down:
                asking_order.failed(base, exc.reason)
            if not movable or index == len(bases) - 1:
                raise
            log.warning("Alertmanager peer %s skipped for %s %s: %s", base, method, path, exc)
            continue
        asking_order.answered(base)
        return answer
    raise AlertmanagerError(AlertmanagerError.UNREACHABLE, "no peer configured", "")


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Whether the connection itself failed (refused, no route, name unknown), so nothing
    was sent; a connection dropped or reset after the request went out is not that."""
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, NewConnectionError | ConnectTimeoutError | NameResolutionError)


def _request_from(
    base: str,
    method: str,
    path: str,
    json: Any,
    params: dict[str, str] | None,
    timeout: float | tuple[float, float] | None,
) -> Any:
    try:
        response = requests.request(
            method, f"{base}{path}", json=json, params=params, timeout=timeout or TIMEOUT
        )
    except requests.Timeout as exc:
        raise AlertmanagerError(
            AlertmanagerError.TIMEOUT,
            "no answer in time",
            base,
            never_sent=isinstance(exc, requests.ConnectTimeout),
        ) from exc
    except requests.ConnectionError as exc:
        reason = connection_failure(exc)
        raise AlertmanagerError(
            AlertmanagerError.UNREACHABLE, reason, base, never_sent=_never_connected(exc)
        ) from exc
    except requests.RequestException as exc:
        raise AlertmanagerError(AlertmanagerError.UNREACHABLE, str(exc)[:200], base) from exc
    if response.status_code >= 400:
        # Alertmanager's errors are a JSON string or plain text; either way, short and useful.
        reason = response.text.strip().strip('"')[:300] or response.reason
        raise AlertmanagerError(
            AlertmanagerError.REJECTED,
            f"HTTP {response.status_code}: {reason}",
            base,
            response.status_code,
        )
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise AlertmanagerError(
            AlertmanagerError.BAD_ANSWER, f"not JSON: {response.text[:100]!r}", base
        ) from exc


def list_alerts(*, url: str | None = None, timeout: float | None = None) -> list[HeldAlert]:
    """Every alert Alertmanager holds (active, silenced, inhibited), with why it is muted
    and its current annotations. Alertmanager works out the silence status afresh for each
    alert on this call, and leaves out alerts that have resolved."""
    data = _request("GET", "/api/v2/alerts", url=url, timeout=timeout)
    try:
        return [
            HeldAlert(
                fingerprint=str(item["fingerprint"]),
                labels={str(k): str(v) for k, v in item["labels"].items()},
                state=str(item["status"]["state"]),
                silenced_by=tuple(item["status"].get("silencedBy") or ()),
                inhibited_by=tuple(item["status"].get("inhibitedBy") or ()),
                annotations={str(k): str(v) for k, v in (item.get("annotations") or {}).items()},
                starts_at=_optional_time(item.get("startsAt")),
                updated_at=_optional_time(item.get("updatedAt")),
            )
            for item in data
        ]
    except (KeyError, TypeError, AttributeError) as exc:
        raise AlertmanagerError(
            AlertmanagerError.BAD_ANSWER, f"unexpected alert list: {exc!r}", _base(url)
        ) from exc


def list_silences(
    *, states: tuple[str, ...] = ("active", "pending"), url: str | None = None
) -> list[Silence]:
    """Silences in the given states, the soonest to end first. Alertmanager keeps expired
    ones for its retention (``--data.retention``, five days by default), then forgets them."""
    data = _request("GET", "/api/v2/silences", url=url)
    try:
        silences = [_silence(item) for item in data]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AlertmanagerError(
            AlertmanagerError.BAD_ANSWER, f"unexpected silence list: {exc!r}", _base(url)
        ) from exc
    return sorted((s for s in silences if s.state in states), key=lambda s: s.ends_at)


def _silence(item: dict[str, Any]) -> Silence:
    return Silence(
        id=str(item["id"]),
        matchers=tuple(Matcher.from_api(m) for m in item["matchers"]),
        starts_at=_parse_time(item["startsAt"]),
        ends_at=_parse_time(item["endsAt"]),
        state=str(item["status"]["state"]),
        created_by=str(item.get("createdBy", "")),
        comment=str(item.get("comment", "")),
        updated_at=_optional_time(item.get("updatedAt")),
    )


def get_silence(silence_id: str, *, url: str | None = None) -> Silence:
    """One silence in any state; an unknown id is an error (``is_not_found``)."""
    data = _request("GET", f"/api/v2/silence/{silence_id}", url=url)
    try:
        return _silence(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AlertmanagerError(
            AlertmanagerError.BAD_ANSWER, f"unexpected silence: {exc!r}", _base(url)
        ) from exc


def create_silence(
    matchers: list[Matcher],
    *,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    url: str | None = None,
) -> str:
    """Create a silence; returns its id."""
    return _post_silence(
        matchers,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=created_by,
        comment=comment,
        url=url,
    )


def update_silence(
    silence_id: str,
    matchers: list[Matcher],
    *,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    url: str | None = None,
) -> str:
    """Change a silence; returns the id of the silence that holds the change. Alertmanager
    (``Silences.Set``) updates the silence in place, keeping its id, when the matchers are
    the same and an active silence keeps its start (send ``starts_at`` back as it gave it);
    otherwise it expires the silence and creates a new one with a new id, so that its
    record of what was muted when stays true. An unknown id is an error
    (``is_not_found``); an expired one is replaced by a new silence, so callers check the
    state first."""
    return _post_silence(
        matchers,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=created_by,
        comment=comment,
        url=url,
        silence_id=silence_id,
    )


def _post_silence(
    matchers: list[Matcher],
    *,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    url: str | None,
    silence_id: str = "",
) -> str:
    body: dict[str, Any] = {
        "matchers": [m.to_api() for m in matchers],
        "startsAt": starts_at.isoformat(),
        "endsAt": ends_at.isoformat(),
        "createdBy": created_by,
        "comment": comment,
    }
    if silence_id:
        body["id"] = silence_id
    data = _request("POST", "/api/v2/silences", json=body, url=url)
    if not isinstance(data, dict) or not data.get("silenceID"):
        raise AlertmanagerError(
            AlertmanagerError.BAD_ANSWER, f"no silence id in {data!r:.100}", _base(url)
        )
    return str(data["silenceID"])


def expire_silence(silence_id: str, *, url: str | None = None) -> None:
    """End a silence now; ending an expired one again is fine, an unknown id is an error
    (``is_not_found``)."""
    _request("DELETE", f"/api/v2/silence/{silence_id}", url=url)
