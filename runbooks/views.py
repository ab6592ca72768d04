"""Runbook pages: the index, one runbook with its steps and action forms, a run with its
output as it comes (htmx polling that stops when the run ends), approval, and the audit."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from core import permissions
from firing.choices import FiringStatus
from firing.models import FiringAlert
from integrations import neo4j_graph as graph
from runbooks import actions, executors
from runbooks.choices import RunbookKind, RunStatus
from runbooks.forms import ActionForm
from runbooks.models import Action, ActionRun, Runbook, Step

VIEW = permissions.VIEW_OPERATIONS
RUN = permissions.RUN_ACTIONS
APPROVE = permissions.APPROVE_ACTIONS


def _get_runbook(name: str) -> Runbook:
    runbook = (
        Runbook.objects.filter(name=name)
        .prefetch_related(Prefetch("steps", queryset=Step.objects.prefetch_related("actions")))
        .first()
    )
    if runbook is None:
        raise Http404(f"No runbook {name!r}.")
    return runbook


def _get_action_for_user(request: HttpRequest, pk: int) -> Action:
    if not permissions.has(request.user, RUN):
        raise PermissionDenied("Your role cannot run runbook actions.")
    action = Action.objects.select_related("step__runbook").filter(pk=pk).first()
    if action is None:
        raise Http404("No such action.")
    return action


def _get_run_for_user(request: HttpRequest, pk: int) -> ActionRun:
    if not permissions.has(request.user, VIEW):
        raise PermissionDenied("Runbook runs are for SREs.")
    run = ActionRun.objects.select_related("requested_by", "approved_by").filter(pk=pk).first()
    if run is None:
        raise Http404("No such run.")
    return run


def _labels(request: HttpRequest, runbook: Runbook) -> tuple[dict[str, Any], str]:
    """The alert's labels: from the link (tiles pass them), else the newest firing alert."""
    labels = {k: v for k, v in request.GET.items() if k in executors.LABELS and v}
    if labels:
        return labels, "the link you followed"
    if runbook.kind == RunbookKind.ALERT:
        firing = (
            FiringAlert.objects.filter(alertname=runbook.name, status=FiringStatus.FIRING)
            .order_by("-starts_at")
            .first()
        )
        if firing is not None:
            return {str(k): str(v) for k, v in dict(firing.labels).items()}, (
                f"the firing alert since {firing.starts_at:%Y-%m-%d %H:%M %Z}"
            )
    return {}, ""


@require_GET
@permission_required(VIEW, raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    runbooks = Runbook.objects.all()
    return render(
        request,
        "runbooks/index.html",
        {
            "groups": [
                (heading, [r for r in runbooks if r.kind == kind])
                for kind, heading in (
                    (RunbookKind.ALERT, "Alert responses"),
                    (RunbookKind.GUIDE, "Performance troubleshooting guides"),
                    (RunbookKind.LOGS, "Log analysis"),
                )
            ],
            "awaiting": ActionRun.objects.filter(status=RunStatus.AWAITING_APPROVAL)
            .select_related("requested_by")
            .order_by("requested_at"),
        },
    )


def _render_detail(
    request: HttpRequest,
    runbook: Runbook,
    bound: ActionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    labels, labels_from = _labels(request, runbook)
    values = executors.context(labels)
    can_run = permissions.has(request.user, RUN)
    steps = []
    for step in runbook.steps.all():
        items = []
        for action in step.actions.all():
            form = None
            if can_run:
                if bound is not None and bound.action.pk == action.pk:
                    form = bound
                else:
                    form = ActionForm(
                        action, initial_values=executors.fill(action.parameters, values)
                    )
            items.append({"action": action, "form": form})
        steps.append({"step": step, "items": items})
    runs = ActionRun.objects.filter(runbook_name=runbook.name).select_related(
        "requested_by", "approved_by"
    )[:15]
    return render(
        request,
        "runbooks/detail.html",
        {
            "runbook": runbook,
            "steps": steps,
            "labels": labels,
            "labels_from": labels_from,
            "runs": runs,
            "can_run": can_run,
            "neo4j_configured": graph.is_configured(),
            "uses_neo4j": any(
                a.kind.startswith("neo4j") for s in runbook.steps.all() for a in s.actions.all()
            ),
        },
        status=status,
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def detail(request: HttpRequest, name: str) -> HttpResponse:
    return _render_detail(request, _get_runbook(name))


@require_POST
def run_action(request: HttpRequest, pk: int) -> HttpResponse:
    action = _get_action_for_user(request, pk)
    form = ActionForm(action, request.POST, initial_values={})
    if not form.is_valid():
        return _render_detail(request, _get_runbook(action.step.runbook.name), form, status=400)
    dry_run = request.POST.get("mode") == "dry_run"
    try:
        run = actions.request_run(action, form.params, actor=request.user, dry_run=dry_run)
    except actions.RunRefused as exc:
        messages.error(request, str(exc))
        return redirect("runbooks:detail", action.step.runbook.name)
    return redirect("runbooks:run", run.pk)


@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    context: dict[str, Any] = {
        "run": run,
        "can_approve": (
            run.needs_approval
            and permissions.has(request.user, APPROVE)
            and run.requested_by_id != request.user.pk
        ),
        "is_requester": run.requested_by_id == request.user.pk,
        "can_cancel": run.status in (RunStatus.AWAITING_APPROVAL, RunStatus.PENDING)
        and (run.requested_by_id == request.user.pk or permissions.has(request.user, APPROVE)),
    }
    if getattr(request, "htmx", False):
        response = render(request, "runbooks/run.html#run", context)
        if run.is_done:
            stop = HttpResponseStopPolling(response.content)
            return stop
        return response
    return render(request, "runbooks/run.html", context)


@require_POST
def approve_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    if not permissions.has(request.user, APPROVE):
        raise PermissionDenied("Your role cannot approve runbook actions.")
    try:
        actions.approve_run(run, actor=request.user)
    except actions.RunRefused as exc:
        messages.error(request, str(exc))
        return redirect("runbooks:run", run.pk)
    messages.success(request, "Approved: the run is queued.")
    return redirect("runbooks:run", run.pk)


@require_POST
def cancel_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    try:
        actions.cancel_run(run, actor=request.user)
    except actions.RunRefused as exc:
        messages.error(request, str(exc))
    return redirect("runbooks:run", run.pk)


AUDIT_COLUMNS = (
    "id",
    "requested_at",
    "runbook",
    "action",
    "kind",
    "parameters",
    "dry_run",
    "status",
    "requested_by",
    "approved_by",
    "started_at",
    "finished_at",
    "error",
)


def _audit_runs(request: HttpRequest) -> tuple[QuerySet[ActionRun], dict[str, str]]:
    runs = ActionRun.objects.select_related("requested_by", "approved_by").order_by(
        "-requested_at", "-pk"
    )
    filters = {
        key: request.GET.get(key, "").strip() for key in ("runbook", "status", "user", "kind")
    }
    if filters["runbook"]:
        runs = runs.filter(runbook_name=filters["runbook"])
    if filters["status"]:
        runs = runs.filter(status=filters["status"])
    if filters["kind"]:
        runs = runs.filter(kind=filters["kind"])
    if filters["user"]:
        from django.db.models import Q

        runs = runs.filter(
            Q(requested_by__username=filters["user"]) | Q(approved_by__username=filters["user"])
        )
    return runs, filters


@require_GET
@permission_required(VIEW, raise_exception=True)
def audit(request: HttpRequest) -> HttpResponse:
    runs, filters = _audit_runs(request)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="runbook-runs.csv"'
        writer = csv.writer(response)
        writer.writerow(AUDIT_COLUMNS)
        for run in runs.iterator():
            writer.writerow(
                [
                    run.pk,
                    run.requested_at.isoformat(),
                    run.runbook_name,
                    run.action_label,
                    run.kind,
                    executors.json_text(run.parameters),
                    "yes" if run.dry_run else "no",
                    run.status,
                    run.requested_by.get_username(),
                    run.approved_by.get_username() if run.approved_by else "",
                    run.started_at.isoformat() if run.started_at else "",
                    run.finished_at.isoformat() if run.finished_at else "",
                    run.error,
                ]
            )
        return response
    return render(
        request,
        "runbooks/audit.html",
        {
            "runs": runs[:300],
            "filters": filters,
            "statuses": RunStatus.choices,
            "runbook_names": Runbook.objects.values_list("name", flat=True),
            "query": request.GET.urlencode(),
        },
    )
