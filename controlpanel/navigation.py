"""The site's navigation: each entry says which permission opens it, so a user is only shown
what they may open. Apps add their pages here as they arrive."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.urls import reverse

from core import permissions


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    description: str
    # None: every signed-in user; "staff": administrators; otherwise a permission.
    permission: str | None = None
    args: tuple[str, ...] = ()

    @property
    def href(self) -> str:
        return reverse(self.url_name, args=self.args)

    def is_visible_to(self, user: User | AnonymousUser) -> bool:
        if not user.is_authenticated:
            return False
        if self.permission is None:
            return True
        if self.permission == "staff":
            return user.is_staff
        return user.has_perm(self.permission)


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("Home", "home", "Where you start."),
    NavItem(
        "Overview",
        "dashboards:dashboard",
        "API request rate, response time by tier, error rate, tenants and MRR: the first "
        "place to look during an incident.",
        permissions.VIEW_BUSINESS,
        ("leanvibe-overview",),
    ),
    NavItem(
        "Kubernetes",
        "dashboards:dashboard",
        "Node and pod CPU and memory, storage: infrastructure and capacity.",
        permissions.VIEW_OPERATIONS,
        ("kubernetes-overview",),
    ),
    NavItem(
        "Business",
        "dashboards:dashboard",
        "Signups, MRR and its growth, tenants by tier, churn, feature adoption, API usage.",
        permissions.VIEW_BUSINESS,
        ("business-metrics",),
    ),
    NavItem(
        "Database",
        "dashboards:dashboard",
        "Neo4j query time, connection pool, transactions, cache hit rate.",
        permissions.VIEW_OPERATIONS,
        ("database-performance",),
    ),
    NavItem(
        "Alerts",
        "firing:firing",
        "What Alertmanager says is firing now, who is on it, runbooks and silences.",
        permissions.VIEW_OPERATIONS,
    ),
    NavItem(
        "Incidents",
        "incidents:incidents",
        "Each breach's incident: its alerts, state changes, runs, silences and notes in one "
        "timeline, the time to detect, acknowledge, mitigate and resolve, and its Markdown.",
        permissions.VIEW_OPERATIONS,
    ),
    NavItem(
        "Runbooks",
        "runbooks:index",
        "The playbook's response procedures as actions: run, approve, and the audit of runs.",
        permissions.VIEW_OPERATIONS,
    ),
    NavItem(
        "Checklists",
        "checklists:index",
        "The daily, weekly, monthly and quarterly maintenance tasks: check, sign off, review; "
        "the SLA report.",
        permissions.SIGN_OFF_CHECKLISTS,
    ),
    NavItem(
        "Administration",
        "admin:index",
        "Users, roles, Celery schedules and, as they arrive, thresholds and runbooks.",
        permission="staff",
    ),
)


def visible_items(user: User | AnonymousUser) -> list[NavItem]:
    return [item for item in NAV_ITEMS if item.is_visible_to(user)]
