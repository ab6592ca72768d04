"""``python -m stack setup``: everything `make run` needs before it starts a process, through
the Django project's own management commands."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import django
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command

from stack import environment
from stack.configuration import write_configuration


def setup(env: dict[str, str]) -> None:
    """Configuration, database, static files and demo users: everything `make run` needs
    before it starts a process. Idempotent and quick the second time."""
    write_configuration(env)
    # The settings read the environment once, at django.setup().
    os.environ.update(env)
    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_playbook")
    # Prometheus loads the thresholds' rules from its first start; tuning rewrites the file.
    call_command("publish_rules")
    _collectstatic_if_changed()
    if env.get("DEMO_MODE", "0").lower() in ("1", "true", "yes", "on"):
        call_command("seed_demo")
    # The current day's, week's, month's and quarter's checklist runs exist from the first page
    # on (beat's interval schedule first fires a minute after start, then gathers evidence).
    call_command("open_checklist_runs")


def _collectstatic_if_changed() -> None:
    """Collecting and compressing plotly.js takes seconds; skip it when nothing changed."""
    stamp = environment.VAR_DIR / "static" / ".sources"
    sources = []
    for finder in get_finders():
        for path, storage in finder.list([]):
            full = Path(storage.path(path))
            sources.append(f"{path}:{full.stat().st_mtime_ns}:{full.stat().st_size}")
    # hashlib, not hash(): the fingerprint must be the same in the next process.
    fingerprint = hashlib.sha256("\n".join(sorted(sources)).encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    call_command("collectstatic", interactive=False, verbosity=0)
    stamp.write_text(fingerprint)
