"""The ``runbooks:`` section of the playbook file, read into plain data.

Called by ``controlpanel.playbook.parse`` with the one ``Checker`` of the whole file, so a
mistake here is reported with its line like any other playbook problem. Example::

    runbooks:
      LeanVibeHighResponseTime:
        kind: alert           # or guide, logs
        title: API response time
        escalation: [support_email, emergency_phone]    # names under playbook.contacts
        steps:
          - title: Immediate Assessment
            time_box: 2m
            actions:
              - kind: http_probe                        # a kind from runbooks.kinds
                label: Time the API health endpoint
                params: {target: api, path: /health}    # a target of RUNBOOK_HTTP_TARGETS
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.playbook_reader import Checker, LineMap
from runbooks.choices import RunbookKind
from runbooks.kinds import check_parameters

RUNBOOK_KINDS = tuple(RunbookKind.values)


@dataclass(frozen=True)
class RunbookAction:
    kind: str
    label: str
    params: dict[str, Any]
    command: str = ""


@dataclass(frozen=True)
class RunbookStep:
    title: str
    time_box: str
    note: str
    actions: tuple[RunbookAction, ...]


@dataclass(frozen=True)
class Runbook:
    """A response procedure: for an alert (keyed by its name), a troubleshooting guide or the
    log-analysis patterns (``kind``), with ordered steps and their actions."""

    name: str
    kind: str
    title: str
    severity: str
    impact: str
    escalation: tuple[str, ...]
    steps: tuple[RunbookStep, ...]


def read_runbooks(
    check: Checker, section: LineMap, alerts: Collection[str], contacts: Mapping[str, Any]
) -> dict[str, Runbook]:
    """The ``runbooks:`` section, by name. Every alert (``alerts``: the names the alerts
    section defines) needs a runbook (the playbook's "every alert must have a clear response
    procedure"); guides and log patterns have runbooks of their own kinds. Escalation names
    the playbook's ``contacts``, and each action's parameters are checked with the same table
    the panel runs them with (``runbooks.kinds``): an HTTP action names one of the configured
    targets (``RUNBOOK_HTTP_TARGETS``), never a URL or a variable."""
    targets = tuple(settings.RUNBOOK_HTTP_TARGETS)
    out = {}
    for name, item in section.items():
        where = f"runbooks.{name}"
        if not isinstance(item, dict):
            check.add(section, f"{where} must be a mapping")
            continue
        known = {"kind", "title", "severity", "impact", "escalation", "steps"}
        for extra in sorted(set(item) - known):
            check.add(item, f"{where}: unknown field {extra!r}", field=extra)
        kind = check.choice(item, "kind", where, RUNBOOK_KINDS)
        if kind == "alert" and name not in alerts:
            check.add(section, f"{where}: no alert named {name} under alerts", field=name)
        escalation = check.names(item, "escalation", where, tuple(contacts))
        steps = []
        raw_steps = item.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            check.add(item, f"{where}.steps must list at least one step", field="steps")
            raw_steps = []
        for index, step in enumerate(raw_steps, start=1):
            at = f"{where}.steps[{index}]"
            if not isinstance(step, dict):
                check.add(item, f"{at} must be a mapping", field="steps")
                continue
            for extra in sorted(set(step) - {"title", "time_box", "note", "actions"}):
                check.add(step, f"{at}: unknown field {extra!r}", field=extra)
            time_box = step.get("time_box") or ""
            if time_box:
                time_box = check.duration(step, time_box, f"{at}.time_box", field="time_box")
            actions = []
            for number, action in enumerate(step.get("actions") or [], start=1):
                spot = f"{at}.actions[{number}]"
                if not isinstance(action, dict):
                    check.add(step, f"{spot} must be a mapping", field="actions")
                    continue
                for extra in sorted(set(action) - {"kind", "label", "params", "command"}):
                    check.add(action, f"{spot}: unknown field {extra!r}", field=extra)
                kind_name = str(action.get("kind", ""))
                params = action.get("params") or {}
                for problem in check_parameters(kind_name, params, targets=targets):
                    at_field = "kind" if problem.startswith("unknown kind") else "params"
                    check.add(action, f"{spot}: {problem}", field=at_field)
                actions.append(
                    RunbookAction(
                        kind=kind_name,
                        label=check.text(action, "label", spot),
                        params=dict(params) if isinstance(params, dict) else {},
                        command=str(action.get("command") or "").strip(),
                    )
                )
            steps.append(
                RunbookStep(
                    title=check.text(step, "title", at),
                    time_box=time_box,
                    note=check.text(step, "note", at, required=False),
                    actions=tuple(actions),
                )
            )
        out[name] = Runbook(
            name=name,
            kind=kind,
            title=check.text(item, "title", where),
            severity=check.text(item, "severity", where, required=False),
            impact=check.text(item, "impact", where, required=False),
            escalation=escalation or tuple(contacts),
            steps=tuple(steps),
        )
    for name in alerts:
        if name not in out:
            check.add(section, f"runbooks: alert {name} has no runbook (every alert needs one)")
    return out
