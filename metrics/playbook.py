"""The ``metrics:`` and ``dashboards:`` sections of the playbook file, read into plain data.

Called by ``controlpanel.playbook.parse`` with the one ``Checker`` of the whole file, so a
mistake here is reported with its line like any other playbook problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.choices import Better, Category, Unit
from core.permissions import Role
from core.playbook_reader import Checker, LineMap
from core.promql import SCOPE_PLACEHOLDER

CATEGORIES = tuple(Category.values)
UNITS = tuple(Unit.values)
BETTER = tuple(value for value in Better.values if value)  # up, down; left out for neither
AUDIENCES = tuple(Role.values)
DASHBOARD_SLUGS = (
    "leanvibe-overview",
    "kubernetes-overview",
    "business-metrics",
    "database-performance",
)


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    category: str
    unit: str
    query: str
    description: str
    impact: str
    group_by: tuple[str, ...] = ()
    playbook_query: str = ""
    query_note: str = ""
    volume_query: str = ""
    min_volume: float | None = None
    scoped_query: str = ""
    better: str = ""  # "up", "down" or "" (neither): which way a change is good news


@dataclass(frozen=True)
class Panel:
    title: str
    metric: str


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    audience: tuple[str, ...]
    description: str
    panels: tuple[Panel, ...]


def read_metrics(check: Checker, section: LineMap) -> dict[str, Metric]:
    """The ``metrics:`` section, by key."""
    out = {}
    known = {
        "name",
        "category",
        "unit",
        "query",
        "description",
        "impact",
        "group_by",
        "playbook_query",
        "query_note",
        "volume_query",
        "min_volume",
        "scoped_query",
        "better",
    }
    for key, item in section.items():
        where = f"metrics.{key}"
        if not isinstance(item, dict):
            check.add(section, f"{where} must be a mapping")
            continue
        for extra in sorted(set(item) - known):
            check.add(item, f"{where}: unknown field {extra!r}")
        volume_query = check.text(item, "volume_query", where, required=False)
        min_volume = check.number(item, "min_volume", where, required=False)
        if bool(volume_query) != (min_volume is not None):
            check.add(item, f"{where}: volume_query and min_volume go together")
        if check.text(item, "playbook_query", where, required=False) and not check.text(
            item, "query_note", where, required=False
        ):
            check.add(item, f"{where}: a changed query needs a query_note saying why")
        scoped_query = check.text(item, "scoped_query", where, required=False)
        if scoped_query and SCOPE_PLACEHOLDER not in scoped_query:
            check.add(
                item,
                f"{where}.scoped_query must say where the scope goes ({SCOPE_PLACEHOLDER})",
                field="scoped_query",
            )
        if scoped_query and not item.get("group_by"):
            check.add(
                item,
                f"{where}.scoped_query needs group_by (the labels a scope names)",
                field="scoped_query",
            )
        out[key] = Metric(
            key=key,
            name=check.text(item, "name", where),
            category=check.choice(item, "category", where, CATEGORIES),
            unit=check.choice(item, "unit", where, UNITS),
            query=check.text(item, "query", where),
            description=check.text(item, "description", where),
            impact=check.text(item, "impact", where),
            group_by=check.names(item, "group_by", where),
            playbook_query=check.text(item, "playbook_query", where, required=False),
            query_note=check.text(item, "query_note", where, required=False),
            volume_query=volume_query,
            min_volume=min_volume,
            scoped_query=scoped_query,
            better=check.choice(item, "better", where, BETTER) if "better" in item else "",
        )
    return out


def read_dashboards(
    check: Checker, section: LineMap, metrics: dict[str, Metric]
) -> dict[str, Dashboard]:
    """The ``dashboards:`` section: the playbook's four, each panel showing a metric read by
    ``read_metrics``."""
    out = {}
    for slug, item in section.items():
        where = f"dashboards.{slug}"
        if slug not in DASHBOARD_SLUGS:
            check.add(section, f"{where}: unknown dashboard; expected {', '.join(DASHBOARD_SLUGS)}")
        if not isinstance(item, dict):
            check.add(section, f"{where} must be a mapping")
            continue
        panels = []
        for index, panel in enumerate(item.get("panels") or []):
            if not isinstance(panel, dict):
                check.add(item, f"{where}.panels[{index}] must be a mapping")
                continue
            metric = check.text(panel, "metric", f"{where}.panels[{index}]")
            if metric and metric not in metrics:
                check.add(panel, f"{where}.panels[{index}].metric {metric!r} is not defined")
            panels.append(Panel(check.text(panel, "title", f"{where}.panels[{index}]"), metric))
        if not panels:
            check.add(item, f"{where}.panels must list at least one panel")
        out[slug] = Dashboard(
            slug,
            check.text(item, "title", where),
            check.names(item, "audience", where, AUDIENCES),
            check.text(item, "description", where),
            tuple(panels),
        )
    for slug in DASHBOARD_SLUGS:
        if slug not in out:
            check.add(section, f"dashboards: the playbook's dashboard {slug} is missing")
    return out
