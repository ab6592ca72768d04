"""Runbook pages: the index, one runbook with its steps and action forms, a run with its
output as it comes (htmx polling that stops when the run ends), approval and refusal, asking
for approval after a dry run, and the audit (a page at a
time, or all of it as CSV).

A refused form comes back with what was typed, the alert's labels (carried in the form's
address), and its errors at each field and summed up at the top of that form, which
``static/js/runbooks-forms.js`` scrolls to and focuses.

Every GET parameter and posted field enters through a form, bounded where it enters; a refused
value is a 400 that says what is allowed, and changes nothing. The small forms of the pages
live here beside their views: ``runbooks/forms.py`` holds the action form."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core import paging, permissions
from core.csv_export import csv_response
from core.paging import PageForm
from firing.choices import FiringStatus
from firing.models import FiringAlert
from integrations import neo4j_graph as graph
from runbooks import actions, approvals, executors
from runbooks.choices import RunbookKind, RunStatus
from runbooks.forms import POD_FILTER_MAX, ActionForm, suggest_pods
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


class PodFilterForm(forms.Form):
    """What a pod picker asks the runbook page for (``?pod_namespace=…&pod_filter=…``): an
    allowlisted namespace (the first when none is given) and the text typed so far."""

    pod_namespace = forms.CharField(required=False, max_length=LABEL_LENGTH)
    pod_filter = _filter_text("Typed text", POD_FILTER_MAX)

    def clean_pod_namespace(self) -> str:
        namespace = self.cleaned_data["pod_namespace"] or (
            settings.RUNBOOK_NAMESPACES[0] if settings.RUNBOOK_NAMESPACES else ""
        )
        if namespace not in settings.RUNBOOK_NAMESPACES:
            raise forms.ValidationError(
                f"Namespace must be one of: {', '.join(settings.RUNBOOK_NAMESPACES)}."
            )
        return str(namespace)


class ModeForm(forms.Form):
    """Which button sent an action's form: anything else is refused, never run."""

    mode = forms.ChoiceField(
        choices=[("run", "Run"), ("request", "Request approval"), ("dry_run", "Dry run")],
        error_messages={
            "required": "Say how to run it: mode is run, request or dry_run.",
            "invalid_choice": "Mode is run, request or dry_run.",
        },
    )


class RefuseForm(forms.Form):
    """Why a second SRE refuses a run: required, so the requester learns what to change."""

    reason = forms.CharField(
        max_length=actions.REFUSAL_REASON_MAX,
        label="Reason",
        help_text=f"Required: the requester and the SRE channels are told. "
        f"At most {actions.REFUSAL_REASON_MAX} characters.",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        error_messages={
            "required": "Say why you refuse it: the requester reads this.",
            "max_length": f"At most {actions.REFUSAL_REASON_MAX} characters "
            "(this is %(show_value)s).",
        },
    )


def _focus_first_error(form: forms.Form) -> None:
    """The first field in error gets ``autofocus`` (the page's script also scrolls the form's
    summary into view; this is for a browser without it)."""
    for name in form.fields:
        if name in form.errors:
            form.fields[name].widget.attrs["autofocus"] = True
            return


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


def _link_labels(request: HttpRequest) -> dict[str, str]:
    """The labels the link passed (``?pod=…``), if ``LabelsForm`` accepts them."""
    form = LabelsForm(request.GET)
    return {k: v for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}


def _labels(request: HttpRequest, runbook: Runbook) -> tuple[dict[str, Any], str]:
    """The alert's labels: from the link (tiles pass them), else the newest firing alert.
    Labels refused by ``LabelsForm`` are not used (``detail`` says so in a message)."""
    labels: dict[str, Any] = _link_labels(request)
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
    link_labels = _link_labels(request)
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
                form.suggest()  # one list of the namespace's pods serves every picker
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
            # Posted forms carry the link's labels in their address: a refused form comes
            # back with the labels it was opened with.
            "labels_query": f"?{urlencode(link_labels)}" if link_labels else "",
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
    """The runbook page; with ``?pod_filter=`` (a pod picker typing), its suggestions."""
    runbook = _get_runbook(name)
    if "pod_filter" in request.GET or "pod_namespace" in request.GET:
        return _pod_suggestions(request)
    labels = LabelsForm(request.GET)
    if not labels.is_valid():
        messages.error(request, f"The link's labels were not used: {_errors_text(labels)}")
        return _render_detail(request, runbook, status=400)
    return _render_detail(request, runbook)


def _pod_suggestions(request: HttpRequest) -> HttpResponse:
    """A pod picker's suggestions for what was typed: at most ``SUGGESTED_PODS`` options and
    how many more match, as the fragment the picker's ``<datalist>`` and hint are replaced
    with (``static/js/runbooks-forms.js``). The runbook page serves it, as its fragment."""
    if not permissions.has(request.user, permissions.RUN_ACTIONS):
        raise PermissionDenied("Your role cannot run runbook actions.")
    form = PodFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_errors_text(form), status=400, content_type="text/plain")
    data = form.cleaned_data
    return render(
        request,
        "runbooks/_pod_options.html",
        {"suggestions": suggest_pods(data["pod_namespace"], data["pod_filter"])},
    )


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
        _focus_first_error(form)
        return _render_detail(request, _get_runbook(action.step.runbook.name), form, status=400)
    dry_run = mode.cleaned_data["mode"] == "dry_run"
    try:
        run = actions.request_run(action, form.params, actor=request.user, dry_run=dry_run)
    except actions.RunRefused as exc:
        # Said at the top of the same form, with what was typed still in it.
        form.add_error(None, str(exc))
        return _render_detail(request, _get_runbook(action.step.runbook.name), form, status=429)
    return redirect("runbooks:run", run.pk)


def _run_context(request: HttpRequest, run: ActionRun) -> dict[str, Any]:
    user = request.user
    is_requester = run.requested_by_id == user.pk
    can_ask_again = (
        (run.dry_run and run.status == RunStatus.SUCCEEDED) or run.status == RunStatus.EXPIRED
    ) and run.action_id is not None
    return {
        "run": run,
        "can_approve": (
            run.needs_approval
            and permissions.has(user, permissions.APPROVE_ACTIONS)
            and not is_requester
        ),
        "is_requester": is_requester,
        "can_cancel": run.status in (RunStatus.AWAITING_APPROVAL, RunStatus.PENDING)
        and (is_requester or permissions.has(user, permissions.APPROVE_ACTIONS)),
        "can_request_approval": can_ask_again
        and permissions.has(user, permissions.RUN_ACTIONS)
        and run.kind in KINDS
        and KINDS[run.kind].is_change,
        "approval_ttl": approvals.ttl(),
        "told_channels": (approvals.channel_names() if run.needs_approval and is_requester else []),
    }


def _render_run(
    request: HttpRequest,
    run: ActionRun,
    refuse_form: RefuseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The run page; static/js/live.js refreshes its run (the state, its message, the
    output) and the decision every second while the run is active. The message is derived from
    the run's status on every render, so "approved, queued" never stays above "succeeded". A
    reason being typed in the decision form is left alone by the refresh (live.js skips an
    edited region); the decision goes once the run no longer waits."""
    context = _run_context(request, run)
    context["refuse_form"] = refuse_form or RefuseForm()
    return render(request, "runbooks/run.html", context, status=status)


@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_run(request, _get_run_for_user(request, pk))


@require_POST
def approve_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    if not permissions.has(request.user, permissions.APPROVE_ACTIONS):
        raise PermissionDenied("Your role cannot approve runbook actions.")
    try:
        actions.approve_run(run, actor=request.user)
    except actions.RunRefused as exc:
        messages.error(request, str(exc))
    # No "approved" message: the run page says what the run is doing now, whatever it is.
    return redirect("runbooks:run", run.pk)


@require_POST
def refuse_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    if not permissions.has(request.user, permissions.APPROVE_ACTIONS):
        raise PermissionDenied("Your role cannot refuse runbook actions.")
    form = RefuseForm(request.POST)
    if not form.is_valid():
        _focus_first_error(form)
        return _render_run(request, run, form, status=400)
    try:
        actions.refuse_run(run, form.cleaned_data["reason"], actor=request.user)
    except actions.RunRefused as exc:
        messages.error(request, str(exc))
    return redirect("runbooks:run", run.pk)


@require_POST
def request_approval(request: HttpRequest, pk: int) -> HttpResponse:
    """The dry run page's "Request approval" (and an expired request's): the same change,
    asked of a second SRE as a new run."""
    run = _get_run_for_user(request, pk)
    if not permissions.has(request.user, permissions.RUN_ACTIONS):
        raise PermissionDenied("Your role cannot run runbook actions.")
    try:
        new = actions.request_again(run, actor=request.user)
    except actions.RunRefused as exc:
        messages.error(request, str(exc))
        return redirect("runbooks:run", run.pk)
    return redirect("runbooks:run", new.pk)


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
