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


def test_it_names_only_management_commands_that_exist():
    from django.core.management import get_commands

    named = set(re.findall(r"manage\.py (\w+)", README))
    assert {"evaluate", "export_rules", "seed_demo"} <= named
    assert sorted(named - set(get_commands())) == []


def test_it_names_only_stack_commands_that_exist():
    from stack.__main__ import COMMANDS

    named = {
        command
        for group in re.findall(r"python -m stack ([\w|-]+)", README)
        for command in group.split("|")
    }
    assert named and sorted(named - set(COMMANDS)) == []


def test_it_lists_the_debian_packages_make_setup_installs():
    makefile = (REPO / "Makefile").read_text()
    listed = re.search(r"^DEBIAN_PACKAGES := ((?:.*\\\n)*.*)$", makefile, re.MULTILINE)
    assert listed, "no DEBIAN_PACKAGES in the Makefile?"
    packages = listed.group(1).replace("\\\n", " ").split()
    missing = [p for p in packages if p != "ca-certificates" and f"`{p}`" not in README]
    assert missing == []


def test_it_names_no_tool_the_stack_no_longer_uses():
    # `make run` supervises its processes with supervisord; there is no Procfile and no honcho.
    assert not (REPO / "Procfile").exists()
    assert [word for word in ("Procfile", "honcho") if word in README] == []
