"""Typed readers for settings that come from the environment.

Every reader fails loudly with ``ImproperlyConfigured`` naming the variable and the value it
refused: a panel that silently reads ``DEBUG=Flase`` as "on" or ``PORT=80a`` as a default is
worse than one that does not start. Secrets may also come from a file named by ``NAME_FILE``
(the Docker/Kubernetes secrets convention), which wins over nothing but loses to ``NAME``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is not None:
        return value
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return None


def env_str(name: str, default: str | None = None) -> str | None:
    """The variable as text (or ``NAME_FILE``'s content), or ``default``."""
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} must be at most {maximum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; empty items are dropped."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str) -> str:
    """An http(s)/redis/database URL; refuses values without a scheme so typos surface."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    value = value.strip()
    if "://" not in value:
        raise ImproperlyConfigured(f"{name}={value!r} is not a URL (expected scheme://host...).")
    return value.rstrip("/") if value.startswith("http") else value


def env_urls(name: str, default: str) -> str:
    """One URL or several, comma-separated (replicas of one service), each checked like
    ``env_url``; returned comma-joined without trailing slashes."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    parts = [part.strip() for part in value.split(",")]
    if not all(parts):
        raise ImproperlyConfigured(
            f"{name}={value!r} has an empty entry: give one URL, or several separated by "
            "commas (http://a:9090,http://b:9090)."
        )
    for part in parts:
        found = urlsplit(part)
        if (
            found.scheme.lower() not in ("http", "https")
            or not found.netloc
            or any(c.isspace() for c in part)
            or found.query
            or found.fragment
        ):
            raise ImproperlyConfigured(
                f"{name}: {part!r} is not an http(s) base URL (expected http://host:port, "
                "several separated by commas)."
            )
    if len(set(parts)) != len(parts):
        raise ImproperlyConfigured(f"{name}={value!r} names one URL twice.")
    return ",".join(part.rstrip("/") for part in parts)


def env_time(name: str, default: str) -> str:
    """A local time of day as ``HH:MM`` (24-hour clock), returned normalised."""
    value = (_raw(name) or "").strip() or default
    hours, _, minutes = value.partition(":")
    try:
        hour, minute = int(hours), int(minutes)
    except ValueError:
        hour = minute = -1
    if not (0 <= hour <= 23 and 0 <= minute <= 59 and len(minutes) == 2):
        raise ImproperlyConfigured(f"{name}={value!r} is not a time of day like 08:00.")
    return f"{hour:02d}:{minute:02d}"
