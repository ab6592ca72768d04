"""What a failed connection means, read from the exceptions it chained (the socket's own
error), never from their text: one wording for every seam."""

from __future__ import annotations

import socket


def connection_failure(exc: BaseException) -> str:
    """ "connection refused", "host name not resolved", or the exception's type and words."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "host name not resolved"
        seen = seen.__cause__ or seen.__context__
    return f"{type(exc).__name__}: {str(exc)[:200]}"
