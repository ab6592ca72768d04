"""Reading the playbook file with line numbers, and collecting its problems.

Each app reads its own section of the playbook (``metrics/playbook.py``,
``alerts/playbook.py``, ``runbooks/playbook.py``, ``checklists/playbook.py``) and
``controlpanel/playbook.py`` composes them; all of them record what is wrong in one
``Checker``, so that every problem is reported with its line and field, all at once, before
anything is used: a playbook that is half right must not be half loaded. Duplicate keys, which
YAML would silently overwrite, are problems too.

A leaf module: the standard library, yaml and ``core`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.promql import DURATION


class PlaybookError(ValueError):
    """The file is not a valid playbook; ``problems`` lists every finding with its line."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{listing}")


class LineMap(dict):
    """A mapping that remembers the line it started on and each key's line."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    duplicates: list[str]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineMap:
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            loader.duplicates.append(
                f"line {key_node.start_mark.line + 1}: duplicate key {key!r}"
                f" (first on line {result.key_lines[key]})"
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


class Checker:
    """Collects the problems of a playbook; its helpers read one field each, record what is
    wrong with it at its line, and return a usable stand-in so that reading goes on."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: Any, message: str, *, field: str = "") -> None:
        """Record a problem at the line of ``field`` in ``where`` (or of ``where`` itself)."""
        line = getattr(where, "key_lines", {}).get(field) or getattr(where, "line", None)
        self.problems.append(f"line {line}: {message}" if line else message)

    def mapping(self, parent: Any, key: str, where: str) -> LineMap:
        value = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(value, LineMap):
            self.add(parent, f"{where}.{key} must be a mapping")
            return LineMap()
        return value

    def text(self, item: Any, key: str, where: str, *, required: bool = True) -> str:
        value = item.get(key, "") if isinstance(item, dict) else ""
        if value is None:
            value = ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.add(item, f"{where}.{key} must be {'non-empty ' if required else ''}text")
            return ""
        return " ".join(value.split())

    def choice(self, item: Any, key: str, where: str, choices: tuple[str, ...]) -> str:
        value = item.get(key) if isinstance(item, dict) else None
        if value not in choices:
            self.add(item, f"{where}.{key} is {value!r}; expected one of {', '.join(choices)}")
            return choices[0]
        return str(value)

    def number(self, item: Any, key: str, where: str, *, required: bool = True) -> float | None:
        value = item.get(key) if isinstance(item, dict) else None
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(item, f"{where}.{key} must be a number, not {value!r}")
            return None
        return float(value)

    def duration(self, item: Any, value: Any, where: str, *, field: str = "") -> str:
        if not isinstance(value, str) or not DURATION.match(value):
            self.add(
                item,
                f"{where} is {value!r}; expected a duration like 30s, 5m, 1h or 7d",
                field=field,
            )
            return "0s"
        return value

    def names(self, item: Any, key: str, where: str, choices: tuple[str, ...] = ()) -> tuple:
        value = item.get(key, []) if isinstance(item, dict) else []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(item, f"{where}.{key} must be a list of names")
            return ()
        wrong = [v for v in value if choices and v not in choices]
        if wrong:
            self.add(item, f"{where}.{key} has {', '.join(wrong)}; expected {', '.join(choices)}")
        return tuple(value)


def read_yaml(text: str, path: Path | str, check: Checker) -> Any:
    """The document, its mappings as ``LineMap``; duplicate keys go to ``check``. Text that
    is not YAML at all raises ``PlaybookError`` at once: there is nothing to check."""
    loader = _LineLoader(text)
    loader.duplicates = []
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise PlaybookError(path, [f"not valid YAML: {exc}"]) from exc
    finally:
        loader.dispose()
    check.problems.extend(loader.duplicates)
    return document


@dataclass
class LoadReport:
    """What loading a playbook into the database did, in the words the command prints. Each
    app's section loader fills its part; ``controlpanel.playbook.load_playbook`` adds them up."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept_tuned: list[str] = field(default_factory=list)
    not_in_playbook: list[str] = field(default_factory=list)
    runbooks: list[str] = field(default_factory=list)
    checklists: list[str] = field(default_factory=list)

    def count(self, outcome: str, name: str) -> None:
        if outcome == "created":
            self.created.append(name)
        elif outcome == "changed":
            self.updated.append(name)

    def add(self, other: LoadReport) -> None:
        self.created += other.created
        self.updated += other.updated
        self.kept_tuned += other.kept_tuned
        self.not_in_playbook += other.not_in_playbook
        self.runbooks += other.runbooks
        self.checklists += other.checklists

    def lines(self) -> list[str]:
        out = [f"{len(self.created)} created, {len(self.updated)} updated"]
        out += [f"kept tuned value: {line}" for line in self.kept_tuned]
        out += [f"not in the playbook any more (left as is): {key}" for key in self.not_in_playbook]
        out += self.runbooks
        out += self.checklists
        return out
