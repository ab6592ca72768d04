"""The playbook file (``playbooks/leanvibe.yaml``): read whole, then loaded whole.

Each app reads its own section and writes its own rows; this module only composes them, in
the order the sections depend on one another (metrics, then alerts and thresholds on those
metrics, then runbooks for those alerts, then checklists). All sections record their problems
in one ``Checker``, so every problem is reported with its line and field, all at once, before
anything is written: a playbook that is half right must not be half loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from alerts.actions import load_alerts_and_thresholds
from alerts.playbook import Alert, Threshold, read_alerts, read_thresholds
from checklists.actions import load_templates
from checklists.playbook import ChecklistSpec, read_checklists
from core.playbook_reader import Checker, LoadReport, PlaybookError, read_yaml
from metrics.actions import load_metrics_and_dashboards
from metrics.playbook import Dashboard, Metric, read_dashboards, read_metrics
from runbooks.actions import load_runbooks
from runbooks.playbook import Runbook, read_runbooks

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "playbooks" / "leanvibe.yaml"
SECTIONS = ("playbook", "metrics", "thresholds", "alerts", "dashboards", "runbooks", "checklists")


@dataclass(frozen=True)
class Playbook:
    title: str
    version: str
    contacts: dict[str, str]
    metrics: dict[str, Metric]
    thresholds: tuple[Threshold, ...]
    alerts: dict[str, Alert]
    dashboards: dict[str, Dashboard]
    runbooks: dict[str, Runbook]
    # By cadence; empty when the file has no checklists section.
    checklists: dict[str, ChecklistSpec]


def load(path: Path | str = DEFAULT_PATH) -> Playbook:
    """Read and validate the playbook; raise ``PlaybookError`` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise PlaybookError(path, [f"cannot be read: {exc}"]) from exc
    return parse(text, path)


def parse(text: str, path: Path | str = "<playbook>") -> Playbook:
    """Validate the text as a whole playbook; raise ``PlaybookError`` listing every problem."""
    check = Checker()
    document = read_yaml(text, path, check)
    if not isinstance(document, dict):
        raise PlaybookError(path, ["the file must be a mapping with playbook, metrics, ..."])
    for key in sorted(set(document) - set(SECTIONS)):
        check.add(
            document, f"unknown top-level key {key!r}; expected {', '.join(sorted(SECTIONS))}"
        )
    header = check.mapping(document, "playbook", "")
    contacts = check.mapping(header, "contacts", "playbook")
    metrics = read_metrics(check, check.mapping(document, "metrics", ""))
    alerts = read_alerts(check, check.mapping(document, "alerts", ""))
    thresholds = read_thresholds(check, document.get("thresholds"), metrics, alerts)
    dashboards = read_dashboards(check, check.mapping(document, "dashboards", ""), metrics)
    runbooks = read_runbooks(check, check.mapping(document, "runbooks", ""), alerts, contacts)
    checklists = read_checklists(check, document.get("checklists"))
    if check.problems:
        raise PlaybookError(path, check.problems)
    return Playbook(
        title=check.text(header, "title", "playbook"),
        version=str(header.get("version", "")),
        contacts={str(k): str(v) for k, v in contacts.items()},
        metrics=metrics,
        thresholds=thresholds,
        alerts=alerts,
        dashboards=dashboards,
        runbooks=runbooks,
        checklists=checklists,
    )


@transaction.atomic
def load_playbook(playbook: Playbook) -> LoadReport:
    """Load a validated playbook, each app's sections by that app's loader: metrics, alerts
    and dashboards follow the file; thresholds follow it too unless an administrator tuned
    them, which the report says; runbooks keep an administrator's edits until the file
    changes, and a checklist template edited in the admin is left as it is. One transaction:
    all of it or nothing. Running it twice changes nothing the second time."""
    report = LoadReport()
    report.add(load_metrics_and_dashboards(playbook.metrics, playbook.dashboards))
    report.add(load_alerts_and_thresholds(playbook.alerts, playbook.thresholds))
    # Every alert has a runbook: the reader refuses a playbook without one for each.
    report.runbooks = load_runbooks(playbook.runbooks, playbook.contacts)
    report.checklists = load_templates(playbook.checklists)
    return report
