"""The README's configuration table is the contract for operators: every variable the code
reads is in it."""

from __future__ import annotations

import re
from pathlib import Path

from stack.environment import PORTS

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def test_it_documents_every_variable_the_settings_read():
    settings_text = (REPO / "controlpanel" / "settings.py").read_text()
    names = set(re.findall(r'env_\w+\("([A-Z_]+)"', settings_text))
    assert names, "the settings read no variable?"
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert missing == []


def test_it_documents_every_port_variable_of_the_local_stack():
    assert all(f"`{port.env}`" in README for port in PORTS)


def test_it_shows_the_two_commands_first():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
