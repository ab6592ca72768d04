"""What happened on a chart's time axis, from the records the panel keeps: runbook runs (with
their outcome), threshold edits and restores, silences, acknowledgements, rollouts of the
cluster's workloads, and changes of state. Each becomes a marker on the charts of the metrics it
concerns, with a hover text and a link to its record, so that "did the fix work?" is read off
one chart.

Which charts a record concerns: a check's changes and a threshold's edits, its own metric; a
run, an acknowledgement or a silence, the metrics of its alert's thresholds; a rollout, the
application's metrics (category ``application``), since every request passes
through the workload that was replaced. Each kind is capped per dashboard (``LIMIT``), newest
kept, so a chart stays readable and a page's cost bounded."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from alerts.choices import TuningKind
from alerts.models import StateChange, Threshold, TuningNote
from core import caching, formatting
from core.choices import Category, State
from firing.choices import SilenceAction
from firing.models import Acknowledgement, SilenceAudit
from integrations import kubernetes as kube
from runbooks.models import ActionRun

log = logging.getLogger(__name__)

# An equality matcher on the alert's name, as the audit keeps it: alertname="LeanVibeHighErrorRate"
ALERTNAME = re.compile(r'^alertname="?([^"=~!]+)"?$')
NOTABLE = (*State.BREACHED, State.ERROR)
LIMIT = 50  # markers of one kind on one dashboard, newest kept
ROLLOUT_CATEGORIES = (Category.APPLICATION,)
ROLLOUT_CACHE_SECONDS = 30


@dataclass(frozen=True)
class Marker:
    """One event on the time axis: when, of which kind, what it says on hover, its record."""

    at: float  # Unix seconds
    kind: str  # one of metrics.charts.MARKER_STYLES
    text: str
    url: str = ""


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _aware(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def markers_by_metric(
    metric_ids: Iterable[int], start: float, end: float, rollouts: Iterable[Marker] = ()
) -> dict[int, list[Marker]]:
    """Every marker of the range, per metric of the dashboard; ``rollouts`` come from the
    cluster (``rollout_markers``, asked on a query thread while the page reads the database)."""
    metric_ids = set(metric_ids)
    since, until = _aware(start), _aware(end)
    thresholds = list(
        Threshold.objects.filter(metric_id__in=metric_ids).values_list(
            "pk", "metric_id", "alert_id", "alert__name", "metric__category"
        )
    )
    metrics_of_alert: dict[int, set[int]] = defaultdict(set)
    metrics_of_alert_name: dict[str, set[int]] = defaultdict(set)
    for _, metric_id, alert_id, alert_name, _category in thresholds:
        metrics_of_alert[alert_id].add(metric_id)
        metrics_of_alert_name[alert_name].add(metric_id)
    found: dict[int, list[Marker]] = defaultdict(list)

    def add(metrics: Iterable[int], marker: Marker) -> None:
        for metric_id in metrics:
            if metric_id in metric_ids:
                found[metric_id].append(marker)

    for change in (
        StateChange.objects.filter(
            check_obj__threshold__metric_id__in=metric_ids, at__gte=since, at__lte=until
        )
        # into or out of a breach or an error; a first evaluation (no data → OK) is no event
        .filter(Q(from_state__in=NOTABLE) | Q(to_state__in=NOTABLE))
        .select_related("check_obj__threshold__metric")
        .order_by("-at")[:LIMIT]
    ):
        check = change.check_obj
        metric = check.threshold.metric
        scope = f" ({', '.join(check.labels.values())})" if check.labels else ""
        add(
            [metric.pk],
            Marker(
                _ts(change.at),
                "state",
                f"{metric.name}{scope}: {change.get_from_state_display()} → "
                f"{change.get_to_state_display()} at "
                f"{formatting.with_unit(change.value, metric.unit)}",
                reverse("alerts:check-history", args=[check.pk]),
            ),
        )
    for note in (
        TuningNote.objects.filter(threshold__metric_id__in=metric_ids, at__gte=since, at__lte=until)
        .exclude(kind=TuningKind.NOTE)
        .select_related("threshold__metric", "author")
        .order_by("-at")[:LIMIT]
    ):
        assert note.threshold is not None
        # in the metric's display unit, as the tuning history says it: "warning 200 ms → 250 ms"
        changed = ", ".join(
            f"{name} {was} → {now}"
            for name, was, now in formatting.value_changes(
                note.before, note.after, note.threshold.metric.unit
            )
        )
        who = note.author.get_username() if note.author else "the playbook"
        add(
            [note.threshold.metric_id],
            Marker(
                _ts(note.at),
                "tuning",
                f"{note.get_kind_display()} {note.threshold.key} by {who}"
                f"{': ' + changed if changed else ''} — {note.note[:120]}",
                reverse("admin:alerts_threshold_tuning", args=[note.threshold.pk]),
            ),
        )
    for run in (
        ActionRun.objects.filter(
            action__step__runbook__alert_id__in=list(metrics_of_alert),
            requested_at__gte=since,
            requested_at__lte=until,
        )
        .select_related("action__step__runbook", "requested_by")
        .order_by("-requested_at")[:LIMIT]
    ):
        assert run.action is not None
        moment = run.finished_at or run.started_at or run.requested_at
        add(
            metrics_of_alert[run.action.step.runbook.alert_id or 0],
            Marker(
                _ts(moment),
                "run",
                f"{run.action_label} ({run.runbook_name}) by {run.requested_by.get_username()}: "
                f"{run.get_status_display()}{' (dry run)' if run.dry_run else ''}",
                reverse("runbooks:run", args=[run.pk]),
            ),
        )
    for ack in (
        Acknowledgement.objects.filter(at__gte=since, at__lte=until)
        .filter(alert__alertname__in=list(metrics_of_alert_name))
        .select_related("alert", "actor")
        .order_by("-at")[:LIMIT]
    ):
        who = ack.actor.get_username() if ack.actor else "someone"
        add(
            metrics_of_alert_name[ack.alert.alertname],
            Marker(
                _ts(ack.at),
                "ack",
                f"{ack.alert.alertname} acknowledged by {who}: {ack.comment[:120]}",
                reverse("firing:firing"),
            ),
        )
    for audit in (
        SilenceAudit.objects.filter(at__gte=since, at__lte=until)
        .select_related("actor")
        .order_by("-at")[:LIMIT]
    ):
        names = {
            named.group(1)
            for matcher in audit.matchers
            if isinstance(matcher, str) and (named := ALERTNAME.match(matcher))
        }
        concerned = set().union(*(metrics_of_alert_name.get(n, set()) for n in names))
        if not concerned:
            continue
        who = audit.actor.get_username() if audit.actor else "someone"
        verb = "silenced" if audit.action == SilenceAction.CREATED else audit.get_action_display()
        add(
            concerned,
            Marker(
                _ts(audit.at),
                "silence",
                f"{', '.join(sorted(n for n in names if n))} {verb.lower()} by {who}"
                f"{': ' + audit.comment[:120] if audit.comment else ''}",
                reverse("firing:silences"),
            ),
        )
    application = {
        metric_id for _, metric_id, _, _, category in thresholds if category in ROLLOUT_CATEGORIES
    }
    for rollout in rollouts:
        if start <= rollout.at <= end:
            add(application, rollout)
    return {metric_id: sorted(markers, key=lambda m: m.at) for metric_id, markers in found.items()}


def rollout_markers() -> list[Marker]:
    """The allowed workloads' last rollouts, from the cluster (the time of the pod template's
    ``restartedAt``, or of the workload's creation), shared between viewers for half a minute.
    No database here: it runs on a query thread. A cluster that cannot be asked costs only
    these markers."""
    key = "annotations:rollouts"
    cached = caching.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    try:
        rollouts = kube.last_rollouts(settings.RUNBOOK_NAMESPACES, settings.RUNBOOK_WORKLOADS)
    except kube.KubeError as exc:
        log.info("no rollout markers: %s", exc)
        rollouts = []
    markers = [
        Marker(moment.timestamp(), "rollout", f"rollout of {workload} in {namespace}")
        for namespace, workload, moment in rollouts
    ][:LIMIT]
    caching.put(key, markers, ROLLOUT_CACHE_SECONDS)
    return markers
