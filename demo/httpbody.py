"""Reading request bodies safely for the demo's small HTTP servers."""

from __future__ import annotations

from email.message import Message
from io import BufferedIOBase

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
