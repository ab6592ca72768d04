#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def load_stack_environment() -> None:
    """In a checkout where `make setup` or `make run` ran, a bare ``manage.py`` in a shell uses
    the local stack's settings (its secret key file, Redis, Prometheus, demo mode), read from
    the ``KEY=value`` lines the stack writes to ``$VAR_DIR/stack.env``.

    A variable set in the environment always wins. A process that names its settings module
    (the stack's own processes, the test suite, a container) brings its whole environment and
    reads no file: a test that leaves ``SECRET_KEY`` out on purpose must not get the stack's.
    The Django project never imports the ``stack`` package, so this reader is its own."""
    if "DJANGO_SETTINGS_MODULE" in os.environ:
        return
    var_dir = os.environ.get("VAR_DIR") or str(Path(__file__).resolve().parent / "var")
    path = Path(var_dir) / "stack.env"
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        name, is_assignment, value = line.partition("=")
        if is_assignment and not line.lstrip().startswith("#"):
            os.environ.setdefault(name.strip(), value)


def main() -> None:
    load_stack_environment()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
