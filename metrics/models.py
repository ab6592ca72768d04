"""The playbook's metrics and dashboards, as loaded from ``playbooks/leanvibe.yaml``."""

from __future__ import annotations

from django.db import models

from core.choices import Better, Category, Unit
from core.promql import SCOPE_PLACEHOLDER, scope_matchers


class Metric(models.Model):
    """A key metric or business KPI: the PromQL the panel runs, and the playbook's own query
    beside it with a note where the playbook's form is wrong in practice."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    unit = models.CharField(max_length=20, choices=Unit.choices)
    better = models.CharField(
        max_length=4,
        choices=Better.choices,
        blank=True,
        help_text="which way a change is good news (the headline tile's colour)",
    )
    query = models.TextField()
    playbook_query = models.TextField(blank=True)
    query_note = models.TextField(blank=True)
    volume_query = models.TextField(blank=True, help_text="traffic behind a ratio")
    min_volume = models.FloatField(null=True, blank=True)
    group_by = models.JSONField(default=list, blank=True)
    scoped_query = models.TextField(
        blank=True,
        help_text=(
            "optional: the query narrowed to one scope, with $scope where its selectors take "
            'the scope\'s matchers (tenant_tier="enterprise"), answering what the query answers '
            "for that scope (its series keep the group-by labels); long backtests of a scoped "
            "threshold then ask Prometheus for that scope's series only"
        ),
    )
    description = models.TextField()
    impact = models.TextField(help_text="SLA or business impact")

    class Meta:
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return self.name

    def query_for(self, scope: dict[str, str]) -> str:
        """The query whose answer holds the scope's series: ``scoped_query`` narrowed to them
        when the metric has one and the scope uses only its grouping labels, else ``query``
        (whose other series the caller filters out)."""
        if not self.scoped_query or not scope or not set(scope) <= set(self.group_by):
            return self.query
        return self.scoped_query.replace(SCOPE_PLACEHOLDER, scope_matchers(scope))


class Dashboard(models.Model):
    """One of the playbook's four dashboards, at the playbook's slug."""

    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    audience = models.JSONField(default=list, help_text="roles that may open it")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.title


class Panel(models.Model):
    """A panel of a dashboard, showing one metric."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="panels")
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="panels")
    title = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["dashboard", "position"]
        constraints = [
            models.UniqueConstraint(fields=["dashboard", "position"], name="panel_position")
        ]

    def __str__(self) -> str:
        return f"{self.dashboard.slug}: {self.title}"
