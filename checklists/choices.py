"""Choice sets of the checklists app."""

from __future__ import annotations

from django.db import models


class Cadence(models.TextChoices):
    """How often a checklist is owed (the playbook's "Monitoring Maintenance" sections)."""

    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"

    # Signed off by one person and reviewed by a different one before the run is complete.
    REVIEWED: tuple[str, ...]


Cadence.REVIEWED = (Cadence.MONTHLY, Cadence.QUARTERLY)


class RunStatus(models.TextChoices):
    OPEN = "open", "Open"
    AWAITING_REVIEW = "awaiting_review", "Signed off, awaiting review"
    COMPLETE = "complete", "Complete"

    # Signed off: the run's items and fields are frozen (only a review may still be added).
    SIGNED: tuple[str, ...]


RunStatus.SIGNED = (RunStatus.AWAITING_REVIEW, RunStatus.COMPLETE)


class ItemStatus(models.TextChoices):
    PENDING = "pending", "To do"
    DONE = "done", "Done"
    NOT_APPLICABLE = "not_applicable", "Not applicable"

    FINISHED: tuple[str, ...]


ItemStatus.FINISHED = (ItemStatus.DONE, ItemStatus.NOT_APPLICABLE)


class ItemRole(models.TextChoices):
    """Who may check an item. Signing off and reviewing a run is for SREs."""

    SRE = "sre", "SRE on call"
    BUSINESS = "business", "Business staff or SRE"


class Evidence(models.TextChoices):
    """What the panel gathers for an item by itself (``none``: it cannot verify the item)."""

    NONE = "none", "Not verifiable by the panel"
    OVERNIGHT_ALERTS = "overnight_alerts", "Alerts and incidents of the last 24 hours"
    DASHBOARD_HEALTH = "dashboard_health", "Targets up, scrape age, evaluation lag"
    BACKUP = "backup", "Age of the last successful backup"
    BUSINESS_TRENDS = "business_trends", "Business KPIs week over week"
    ALERT_ACCURACY = "alert_accuracy", "Alert noise of the last 7 days"
    PERFORMANCE_CAPACITY = "performance_capacity", "7-day performance trends and headroom"
    RECENT_INCIDENTS = "recent_incidents", "Incidents of the last 7 days"
    MONITORING_HEALTH = "monitoring_health", "Prometheus TSDB status and storage"
    SLA = "sla", "SLA report of the previous month"
    BUSINESS_BASELINES = "business_baselines", "Business KPIs month over month"
    ALERT_CONFIGURATION = "alert_configuration", "Thresholds, rules and notification channels"
    TEAM_CHANGES = "team_changes", "People who joined in the last quarter"


class EventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    OWNER = "owner", "Owner changed"
    CHECKED = "checked", "Item checked"
    NOT_APPLICABLE = "not_applicable", "Item marked not applicable"
    REOPENED = "reopened", "Item reopened"
    EVIDENCE = "evidence", "Evidence gathered"
    SIGNED_OFF = "signed_off", "Signed off"
    REVIEWED = "reviewed", "Reviewed"
    NOTE = "note", "Note added"
    OVERDUE = "overdue", "Overdue notice sent"
