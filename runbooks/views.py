"""Runbook pages: the index, one runbook with its steps and action forms, a run with its
output as it comes (htmx polling that stops when the run ends), approval, and the audit (a page
at a time, or all of it as CSV).

Every GET parameter and posted field enters through a form, bounded where it enters; a refused
value is a 400 that says what is allowed, and changes nothing. The small forms of the pages
live here beside their views: ``runbooks/forms.py`` holds the action form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from core import paging, permissions
from core.csv_export import csv_response
from core.paging import PageForm
from firing.choices import FiringStatus
from firing.models import FiringAlert
from integrations import neo4j_graph as graph
from runbooks import actions, executors
from runbooks.choices import RunbookKind, RunStatus
from runbooks.forms import ActionForm
from runbooks.kinds import KINDS
from runbooks.models import Action, ActionRun, Runbook, Step

# The index lists this many runs waiting for approval; the audit, filtered, has them all.
AWAITING_SHOWN = 20
# An alert label passed in a link (a pod name, an instance): longer is not a label.
LABEL_LENGTH = 200


# --- the pages' forms ----------------------------------------------------------------------


def _filter_text(label: str, limit: int) -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=limit,
        label=label,
        error_messages={"max_length": f"{label} is at most {limit} characters."},
    )


class AuditForm(PageForm):
    """The audit's filters (free text where the audit keeps names of runbooks and kinds that
    may since have been removed), its page, and ``?format=csv``."""

    runbook = _filter_text("Runbook", 100)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "any"), *RunStatus.choices],
        error_messages={"invalid_choice": "Status must be one of: " + ", ".join(RunStatus.values)},
    )
    user = _filter_text("User", 150)
    kind = _filter_text("Kind", 40)
    format = forms.ChoiceField(
        required=False,
        choices=[("", "page"), ("csv", "CSV")],
        error_messages={"invalid_choice": "Format is csv, or left out for the page."},
    )


class LabelsForm(forms.Form):
    """The alert's labels a link may pass to a runbook page (``?pod=…``), to prefill its
    action forms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in executors.LABELS:
            self.fields[name] = _filter_text(name, LABEL_LENGTH)


class ModeForm(forms.Form):
    """Which button sent an action's form: anything else is refused, never run."""

    mode = forms.ChoiceField(
        choices=[("run", "Run"), ("request", "Request approval"), ("dry_run", "Dry run")],
        error_messages={
            "required": "Say how to run it: mode is run, request or dry_run.",
            "invalid_choice": "Mode is run, request or dry_run.",
        },
    )


def _errors_text(form: forms.Form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


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
    if not permissions.has(request.user, permissions.RUN_ACTIONS):
        raise PermissionDenied("Your role cannot run runbook actions.")
    action = Action.objects.select_related("step__runbook").filter(pk=pk).first()
    if action is None:
        raise Http404("No such action.")
    return action


def _get_run_for_user(request: HttpRequest, pk: int) -> ActionRun:
    if not permissions.has(request.user, permissions.VIEW_OPERATIONS):
        raise PermissionDenied("Runbook runs are for SREs.")
    run = ActionRun.objects.select_related("requested_by", "approved_by").filter(pk=pk).first()
    if run is None:
        raise Http404("No such run.")
    return run


def _labels(request: HttpRequest, runbook: Runbook) -> tuple[dict[str, Any], str]:
    """The alert's labels: from the link (tiles pass them), else the newest firing alert.
    Labels refused by ``LabelsForm`` are not used (``detail`` says so in a message)."""
    form = LabelsForm(request.GET)
    labels = {k: v for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}
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
@permission_required(permissions.VIEW_OPERATIONS, raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    runbooks = Runbook.objects.all()
    awaiting = (
        ActionRun.objects.filter(status=RunStatus.AWAITING_APPROVAL)
        .select_related("requested_by")
        .order_by("requested_at", "pk")
    )
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
            "awaiting": list(awaiting[:AWAITING_SHOWN]),
            "awaiting_count": awaiting.count(),
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
    can_run = permissions.has(request.user, permissions.RUN_ACTIONS)
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
@permission_required(permissions.VIEW_OPERATIONS, raise_exception=True)
def detail(request: HttpRequest, name: str) -> HttpResponse:
    runbook = _get_runbook(name)
    labels = LabelsForm(request.GET)
    if not labels.is_valid():
        messages.error(request, f"The link's labels were not used: {_errors_text(labels)}")
        return _render_detail(request, runbook, status=400)
    return _render_detail(request, runbook)


@require_POST
def run_action(request: HttpRequest, pk: int) -> HttpResponse:
    action = _get_action_for_user(request, pk)
    form = ActionForm(action, request.POST, initial_values={})
    mode = ModeForm(request.POST)
    is_valid = form.is_valid()
    if not mode.is_valid():
        form.add_error(None, _errors_text(mode))
        is_valid = False
    if not is_valid:
        return _render_detail(request, _get_runbook(action.step.runbook.name), form, status=400)
    dry_run = mode.cleaned_data["mode"] == "dry_run"
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
            and permissions.has(request.user, permissions.APPROVE_ACTIONS)
            and run.requested_by_id != request.user.pk
        ),
        "is_requester": run.requested_by_id == request.user.pk,
        "can_cancel": run.status in (RunStatus.AWAITING_APPROVAL, RunStatus.PENDING)
        and (
            run.requested_by_id == request.user.pk
            or permissions.has(request.user, permissions.APPROVE_ACTIONS)
        ),
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
    if not permissions.has(request.user, permissions.APPROVE_ACTIONS):
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


def _audit_runs(data: dict[str, Any]) -> QuerySet[ActionRun]:
    # A run's output and preview are for its own page: neither the list nor the CSV reads them.
    runs = (
        ActionRun.objects.select_related("requested_by", "approved_by")
        .defer("output", "preview")
        .order_by("-requested_at", "-pk")
    )
    if data["runbook"]:
        runs = runs.filter(runbook_name=data["runbook"])
    if data["status"]:
        runs = runs.filter(status=data["status"])
    if data["kind"]:
        runs = runs.filter(kind=data["kind"])
    if data["user"]:
        runs = runs.filter(
            Q(requested_by__username=data["user"]) | Q(approved_by__username=data["user"])
        )
    return runs


def _audit_csv(runs: QuerySet[ActionRun]) -> HttpResponse:
    """Every run the filters keep, one row each (cells that would start a formula are
    neutralized: ``core.csv_export``)."""
    rows = (
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
        for run in runs.iterator(chunk_size=500)
    )
    return csv_response("runbook-runs.csv", AUDIT_COLUMNS, rows)


@require_GET
@permission_required(permissions.VIEW_OPERATIONS, raise_exception=True)
def audit(request: HttpRequest) -> HttpResponse:
    """Every run, newest first, a page at a time (``?page=``, ``?per_page=``), filtered by
    runbook, status, kind and user; ``?format=csv`` downloads every run the filters keep."""
    form = AuditForm(request.GET)
    page: Page | None = None
    is_filtered = False
    if form.is_valid():
        data = form.cleaned_data
        is_filtered = any(data[key] for key in ("runbook", "status", "kind", "user"))
        runs = _audit_runs(data)
        if data["format"] == "csv":
            return _audit_csv(runs)
        page = form.paginate(runs)
    return render(
        request,
        "runbooks/audit.html",
        {
            "form": form,
            "page": page,
            "runs": page.object_list if page is not None else [],
            "is_filtered": is_filtered,
            "statuses": RunStatus.choices,
            "kinds": [(kind.name, kind.label) for kind in KINDS.values()],
            "page_sizes": paging.PAGE_SIZES,
            "runbook_names": Runbook.objects.values_list("name", flat=True),
        },
        status=200 if page is not None else 400,
    )
