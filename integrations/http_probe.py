"""The HTTP actions: a timing probe (what ``curl -w`` prints), a request with a method and a
JSON body, and an external-dependency check whose credential comes from the environment."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import time
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Emit = Callable[[str], None]
TIMEOUT = 10.0


class ProbeError(Exception):
    """The request could not be made or answered; the message says where it stopped."""


@dataclass(frozen=True)
class Timing:
    status: int
    connect: float  # TCP (and TLS) connection established
    first_byte: float  # status line received (curl's time_starttransfer)
    total: float  # body read
    size: int


def _connection(url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeError(f"{url!r} is not an http(s) URL")
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    if parts.scheme == "https":
        return (
            http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=TIMEOUT, context=ssl.create_default_context()
            ),
            target,
        )
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT), target


def request(
    method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[Timing, bytes]:
    """One request on a fresh connection, timed in its phases."""
    connection, target = _connection(url)
    started = time.perf_counter()
    try:
        connection.connect()
        connected = time.perf_counter()
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        first_byte = time.perf_counter()
        content = response.read()
        done = time.perf_counter()
    except (OSError, http.client.HTTPException) as exc:
        raise ProbeError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()
    timing = Timing(
        response.status, connected - started, first_byte - started, done - started, len(content)
    )
    return timing, content


def show_timing(timing: Timing, emit: Emit) -> None:
    emit(
        f"HTTP {timing.status} · Total: {timing.total:.3f}s, Connect: {timing.connect:.3f}s, "
        f"First byte: {timing.first_byte:.3f}s · {timing.size} bytes"
    )


def probe(url: str, emit: Emit) -> Timing:
    timing, _ = request("GET", url)
    show_timing(timing, emit)
    if timing.status >= 400:
        raise ProbeError(f"{url} answered HTTP {timing.status}")
    return timing


def send(method: str, url: str, json_body: Any, expect_status: int | None, emit: Emit) -> None:
    body = None if json_body in (None, "") else json.dumps(json_body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    emit(f"{method} {url}" + (f" {body.decode()}" if body else ""))
    timing, content = request(method, url, body=body, headers=headers)
    show_timing(timing, emit)
    emit(content.decode(errors="replace")[:2000])
    if expect_status is not None and timing.status != expect_status:
        raise ProbeError(f"expected HTTP {expect_status}, got {timing.status}")
    if expect_status is None and timing.status >= 400:
        raise ProbeError(f"HTTP {timing.status}")


def dependency(url: str, credential_env: str, emit: Emit) -> None:
    """``curl URL -u $KEY:``: basic auth with the key as user, read from the environment."""
    headers = {}
    if credential_env:
        secret = os.environ.get(credential_env, "")
        if not secret:
            raise ProbeError(f"{credential_env} is not set in the panel's environment")
        headers["Authorization"] = "Basic " + b64encode(f"{secret}:".encode()).decode()
        emit(f"GET {url} with {credential_env} (value not shown)")
    timing, content = request("GET", url, headers=headers)
    show_timing(timing, emit)
    text = content.decode(errors="replace")
    if credential_env and os.environ.get(credential_env):
        text = text.replace(os.environ[credential_env], "[redacted]")
    emit(text[:1000])
    if timing.status >= 400:
        raise ProbeError(f"the dependency answered HTTP {timing.status}")
