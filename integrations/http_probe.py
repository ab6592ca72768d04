"""The HTTP actions: a timing probe (what ``curl -w`` prints), a request with a method and a
JSON body, and an external-dependency check whose credential comes from the environment.

Every request goes to a ``Target``: a name from configuration (``RUNBOOK_HTTP_TARGETS``) with
its URL and, if it has one, the NAME of the variable holding its credential. Nothing a user
types picks a host, a port or a variable: the connection is made to the target's host and
port, and the most a caller adds is a path on that host, checked by ``path_problem`` and sent
as the request line's target (never parsed back into a URL). Redirects are reported and never
followed, so a credential goes to the configured URL and nowhere else.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import time
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Emit = Callable[[str], None]
TIMEOUT = 10.0
PATH_MAX = 200
# RFC 3986 path and query characters, nothing else: no whitespace or control characters
# (header injection), no backslash, no fragment.
_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*")
# Encoded dots and slashes would let a server that decodes them climb out of the target's
# base path, as ".." would.
_ENCODED = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)


class ProbeError(Exception):
    """The request could not be made or answered; the message says where it stopped."""


@dataclass(frozen=True)
class Target:
    """Where a request may go: a configured name, its URL (scheme, host, port and an optional
    base path, checked by the settings) and the name of its credential's variable, if any."""

    name: str
    url: str
    credential_env: str = ""

    def address(self, path: str = "") -> str:
        """The URL a request to ``path`` reaches, for the output (it holds no secret)."""
        return self.url.rstrip("/") + path if path else self.url


@dataclass(frozen=True)
class Timing:
    status: int
    connect: float  # TCP (and TLS) connection established
    first_byte: float  # status line received (curl's time_starttransfer)
    total: float  # body read
    size: int
    location: str = ""  # a redirect's Location header: reported, never followed


# Bytes of an answer a probe reads: enough for any health or account endpoint, never a download
# that grows the worker.
MAX_BODY = 1_000_000


def path_problem(path: str) -> str:
    """Why ``path`` cannot be sent to a target's host ("" when it can): it must be a path on
    that host (``/health/db``, a query allowed), never a URL, a host or a way out of the
    target's base path."""
    if not isinstance(path, str) or not path:
        return "a path on the target's host is needed, such as /health"
    if len(path) > PATH_MAX:
        return f"at most {PATH_MAX} characters"
    if "://" in path or path.startswith("//"):
        return "a path on the target's host (/health), not a URL: hosts come from the settings"
    if not path.startswith("/"):
        return "a path starts with / (/health); hosts and ports come from the settings"
    if ".." in path or _ENCODED.search(path):
        return "no .. (nor %2e, %2f, %5c) in a path"
    if "//" in path:
        return "no // in a path"
    if not _PATH.fullmatch(path):
        return "only the characters of a URL path and query (no spaces, #, \\ or braces)"
    return ""


def _connection(target: Target, path: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(target.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeError(f"target {target.name}: {target.url!r} is not an http(s) URL")
    if path:
        problem = path_problem(path)
        if problem:
            raise ProbeError(f"path {path!r}: {problem}")
    # The request line carries the base path and the checked path; the host and port are the
    # target's alone.
    base = parts.path or "/"
    request_target = base.rstrip("/") + path if path else base
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    return connection, request_target


def request(
    method: str,
    target: Target,
    path: str = "",
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[Timing, bytes]:
    """One request on a fresh connection to the target, timed in its phases. http.client
    follows no redirect; a 3xx comes back as it is, with its Location."""
    connection, request_target = _connection(target, path)
    started = time.perf_counter()
    try:
        connection.connect()
        connected = time.perf_counter()
        connection.request(method, request_target, body=body, headers=headers or {})
        response = connection.getresponse()
        first_byte = time.perf_counter()
        content = response.read(MAX_BODY)  # a probe needs the timing, not a download
        done = time.perf_counter()
    except (OSError, http.client.HTTPException) as exc:
        raise ProbeError(f"{method} {target.address(path)}: {type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()
    location = response.getheader("Location", "") if 300 <= response.status < 400 else ""
    timing = Timing(
        response.status,
        connected - started,
        first_byte - started,
        done - started,
        len(content),
        location,
    )
    return timing, content


def show_timing(timing: Timing, emit: Emit) -> None:
    emit(
        f"HTTP {timing.status} · Total: {timing.total:.3f}s, Connect: {timing.connect:.3f}s, "
        f"First byte: {timing.first_byte:.3f}s · {timing.size} bytes"
    )
    if 300 <= timing.status < 400:
        emit(f"redirect to {timing.location or '(no Location)'}: not followed")


def probe(target: Target, path: str, emit: Emit) -> Timing:
    emit(f"GET {target.address(path)} (target {target.name})")
    timing, _ = request("GET", target, path)
    show_timing(timing, emit)
    if timing.status >= 400:
        raise ProbeError(f"{target.address(path)} answered HTTP {timing.status}")
    return timing


def send(
    method: str,
    target: Target,
    path: str,
    json_body: Any,
    expect_status: int | None,
    emit: Emit,
) -> None:
    body = None if json_body in (None, "") else json.dumps(json_body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    emit(f"{method} {target.address(path)}" + (f" {body.decode()}" if body else ""))
    timing, content = request(method, target, path, body=body, headers=headers)
    show_timing(timing, emit)
    emit(content.decode(errors="replace")[:2000])
    if expect_status is not None and timing.status != expect_status:
        raise ProbeError(f"expected HTTP {expect_status}, got {timing.status}")
    if expect_status is None and timing.status >= 400:
        raise ProbeError(f"HTTP {timing.status}")


def dependency(target: Target, emit: Emit) -> None:
    """``curl URL -u $KEY:``: basic auth with the key as user, to the target's own URL (no
    path is added), the key read from the variable the settings name for this target. A
    redirect fails the check: the key is never sent on, to this host or another."""
    headers = {}
    secret = ""
    if target.credential_env:
        secret = os.environ.get(target.credential_env, "")
        if not secret:
            raise ProbeError(f"{target.credential_env} is not set in the panel's environment")
        headers["Authorization"] = "Basic " + b64encode(f"{secret}:".encode()).decode()
        emit(f"GET {target.address()} with {target.credential_env} (value not shown)")
    else:
        emit(f"GET {target.address()} (target {target.name}, no credential)")
    timing, content = request("GET", target, headers=headers)

    def redact(text: str) -> str:
        return text.replace(secret, "[redacted]") if secret else text

    show_timing(timing, lambda line: emit(redact(line)))
    emit(redact(content.decode(errors="replace"))[:1000])
    if 300 <= timing.status < 400:
        raise ProbeError(
            f"the dependency answered HTTP {timing.status} (a redirect); not followed, so the "
            f"credential went to {target.address()} only"
        )
    if timing.status >= 400:
        raise ProbeError(f"the dependency answered HTTP {timing.status}")
