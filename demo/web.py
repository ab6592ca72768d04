"""What the demo's two small HTTP servers share: JSON answers and safe request bodies."""

from __future__ import annotations

import json
from email.message import Message
from http.server import BaseHTTPRequestHandler
from io import BufferedIOBase
from typing import Any

MAX_BODY = 1 << 20  # 1 MiB: every legitimate request here is a few hundred bytes


class BodyError(ValueError):
    """A body that cannot be read; ``code`` is the HTTP status to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def read_body(headers: Message, rfile: BufferedIOBase, limit: int = MAX_BODY) -> bytes:
    """The request body, refusing a Content-Length that is not a number (400) or too large
    (413) instead of blocking on ``read(-1)`` or reading without bound."""
    raw = headers.get("Content-Length")
    if raw is None or raw.strip() == "":
        return b""
    if not raw.strip().isdigit():
        raise BodyError(400, f"Content-Length {raw!r} is not a byte count")
    length = int(raw)
    if length > limit:
        raise BodyError(413, f"the body is {length} bytes; at most {limit} are accepted")
    return rfile.read(length)


class QuietJsonHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, no access log (the processes' own logs say what matters), and
    answers as JSON or text with their length."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def send_answer(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
