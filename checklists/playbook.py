"""The ``checklists:`` section of the playbook file: the four maintenance checklists.

Called by ``controlpanel.playbook.parse`` with the one ``Checker`` of the whole file, so a
mistake here is reported with its line like any other playbook problem. Example::

    checklists:
      daily:
        title: Daily monitoring tasks
        due: 17h            # after the start (local midnight) of the period's first day
        items:
          - title: Review overnight alerts and incidents
            evidence: overnight_alerts
            role: sre
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checklists.choices import Cadence, Evidence, ItemRole
from core.playbook_reader import Checker

ITEM_FIELDS = {"title", "evidence", "role", "guidance"}
CHECKLIST_FIELDS = {"title", "due", "items"}


@dataclass(frozen=True)
class ItemSpec:
    title: str
    evidence: str
    role: str
    guidance: str = ""


@dataclass(frozen=True)
class ChecklistSpec:
    cadence: str
    title: str
    due: str
    items: tuple[ItemSpec, ...]


def read_checklists(check: Checker, section: Any) -> dict[str, ChecklistSpec]:
    """Validate the section; every cadence must be there with at least one item. A file
    without the section has no checklists (nothing is loaded or removed)."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        check.add(section, "checklists must be a mapping of daily, weekly, monthly, quarterly")
        return {}
    out: dict[str, ChecklistSpec] = {}
    cadences = tuple(Cadence.values)
    for cadence, spec in section.items():
        where = f"checklists.{cadence}"
        if cadence not in cadences:
            check.add(
                section, f"{where}: unknown cadence; expected {', '.join(cadences)}", field=cadence
            )
            continue
        if not isinstance(spec, dict):
            check.add(section, f"{where} must be a mapping", field=cadence)
            continue
        for extra in sorted(set(spec) - CHECKLIST_FIELDS):
            check.add(spec, f"{where}: unknown field {extra!r}", field=extra)
        due = check.duration(spec, spec.get("due"), f"{where}.due", field="due")
        raw_items = spec.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            check.add(spec, f"{where}.items must list at least one item", field="items")
            raw_items = []
        items = []
        seen: dict[str, int] = {}
        for index, item in enumerate(raw_items, start=1):
            at = f"{where}.items[{index}]"
            if not isinstance(item, dict):
                check.add(spec, f"{at} must be a mapping with a title", field="items")
                continue
            for extra in sorted(set(item) - ITEM_FIELDS):
                check.add(item, f"{at}: unknown field {extra!r}", field=extra)
            title = check.text(item, "title", at)
            if title and title in seen:
                check.add(item, f"{at}: same title as item {seen[title]}", field="title")
            seen[title] = index
            items.append(
                ItemSpec(
                    title=title,
                    evidence=_choice(check, item, "evidence", at, Evidence.values, Evidence.NONE),
                    role=_choice(check, item, "role", at, ItemRole.values, ItemRole.SRE),
                    guidance=check.text(item, "guidance", at, required=False),
                )
            )
        out[cadence] = ChecklistSpec(
            cadence=cadence, title=check.text(spec, "title", where), due=due, items=tuple(items)
        )
    for cadence in cadences:
        if cadence not in out and cadence not in section:
            check.add(section, f"checklists: the {cadence} checklist is missing")
    return out


def _choice(
    check: Checker, item: Any, key: str, where: str, choices: list[str], default: str
) -> str:
    value = item.get(key, default)
    if value not in choices:
        check.add(
            item, f"{where}.{key} is {value!r}; expected one of {', '.join(choices)}", field=key
        )
        return default
    return str(value)
