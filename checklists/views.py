"""Pages of the maintenance checklists: the overview with the paginated history, a run with
its items and evidence, the SLA report and the CSV export. Every parameter and posted field
enters through a form of ``checklists.forms``; every write is a POST that calls an action and
redirects (a refused form too, with the reason as a message on the run's page)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from checklists import actions, charts, evidence, forms, sla
from checklists.actions import ChecklistError
from checklists.choices import Cadence, ItemRole, ItemStatus, RunStatus
from checklists.models import ChecklistRun, RotaMember, RunItem
from core import paging, permissions
from core.csv_export import csv_response

CHART_PERIODS = 90  # days of runs behind the completion-rate chart
# The overview lists this many overdue runs; the history, filtered to overdue, has them all.
OVERDUE_SHOWN = 10


def _get_run_for_user(request: HttpRequest, pk: int) -> ChecklistRun:
    if not permissions.has(request.user, permissions.SIGN_OFF_CHECKLISTS):
        raise PermissionDenied
    run = ChecklistRun.objects.select_related("owner", "signed_off_by", "reviewed_by")
    found = run.filter(pk=pk).first()
    if found is None:
        raise Http404("No such checklist run.")
    return found


def _get_item_for_user(request: HttpRequest, pk: int) -> RunItem:
    if not permissions.has(request.user, permissions.SIGN_OFF_CHECKLISTS):
        raise PermissionDenied
    item = RunItem.objects.select_related("run").filter(pk=pk).first()
    if item is None:
        raise Http404("No such checklist item.")
    if not actions.can_check(request.user, item):
        raise PermissionDenied(f"“{item.title}” is checked by {item.get_role_display()}.")
    return item


def _require_sign_off(request: HttpRequest) -> None:
    if not actions.can_sign_off(request.user):
        raise PermissionDenied("Only SREs sign off, review and assign checklist runs.")


def _back(run: ChecklistRun, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("checklists:run", args=[run.pk]) + anchor)


def _history(form: forms.HistoryForm, now: datetime) -> Page:
    # Newest first by primary key: runs are only ever created as they open (``open_runs``,
    # with ``opened_at`` = now), so this is the opening order, and a page is found by walking
    # the key instead of sorting every run. The evidence snapshot (tables of rows) is not
    # shown in the list, so it is not read either.
    runs = (
        ChecklistRun.objects.select_related("owner", "signed_off_by", "reviewed_by")
        .defer("evidence")
        .order_by("-id")
    )
    data = form.cleaned_data
    if data["cadence"]:
        runs = runs.filter(cadence=data["cadence"])
    if data["status"] == forms.OVERDUE:
        runs = runs.overdue(now)
    elif data["status"]:
        runs = runs.filter(status=data["status"])
    return form.paginate(runs)


@require_GET
@permissions.required(
    permissions.SIGN_OFF_CHECKLISTS, "Maintenance checklists are for SREs and business staff."
)
def index(request: HttpRequest) -> HttpResponse:
    """The current run of each cadence, overdue runs, completion rates and the history of
    every run, a page at a time (``?cadence=``, ``?status=``, ``?page=``, ``?per_page=``)."""
    now = timezone.now()
    history_form = forms.HistoryForm(request.GET)
    is_valid = history_form.is_valid()
    current = []
    for cadence in Cadence.values:
        run = (
            ChecklistRun.objects.filter(cadence=cadence)
            .select_related("owner", "signed_off_by", "reviewed_by")
            .order_by("-period_start")
            .first()
        )
        if run is not None:
            run.done_count = run.items.exclude(status=ItemStatus.PENDING).count()  # type: ignore[attr-defined]
            run.item_count = run.items.count()  # type: ignore[attr-defined]
        current.append((Cadence(cadence), run))
    since = now - timedelta(days=CHART_PERIODS)
    chart_runs = list(
        ChecklistRun.objects.filter(opened_at__gte=since).values(
            "cadence", "status", "signed_off_at", "due_at"
        )
    )
    rates = charts.completion_rates(chart_runs)
    overdue = (
        ChecklistRun.objects.overdue(now)
        .select_related("owner")
        .defer("evidence")
        .order_by("due_at", "id")
    )
    context = {
        "current": current,
        "overdue": list(overdue[:OVERDUE_SHOWN]),
        "overdue_count": overdue.count(),
        "history_form": history_form,
        "history": _history(history_form, now) if is_valid else None,
        "statuses": [*RunStatus.choices, (forms.OVERDUE, "Overdue")],
        "cadences": Cadence.choices,
        "page_sizes": paging.PAGE_SIZES,
        "rates": rates,
        "figure": charts.completion_figure(rates),
        "rota": list(RotaMember.objects.filter(is_active=True).select_related("user")),
        "now": now,
    }
    return render(request, "checklists/index.html", context, status=200 if is_valid else 400)


@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    user = request.user
    items = list(run.items.select_related("checked_by"))
    snapshot = run.evidence.get("items", {}) if run.evidence else {}
    sees_operations = permissions.has(user, permissions.VIEW_OPERATIONS)
    for item in items:
        item.can_check = not run.is_signed and actions.can_check(user, item)  # type: ignore[attr-defined]
        item.shown_evidence = (  # type: ignore[attr-defined]
            snapshot.get(item.evidence)
            if sees_operations or item.role == ItemRole.BUSINESS
            else None
        )
    pending = sum(1 for i in items if not i.is_finished)
    context = {
        "run": run,
        "items": items,
        "pending": pending,
        "notes": list(run.notes.select_related("author", "item")),
        "events": list(run.events.select_related("actor")),
        "can_sign_off": not run.is_signed and actions.can_sign_off(user) and not pending,
        "may_sign_off": actions.can_sign_off(user),
        "can_review": actions.can_review(user, run),
        "is_signer": user.pk == run.signed_off_by_id,
        "is_overdue": run.is_overdue(),
        "sees_operations": sees_operations,
        "people": list(
            User.objects.filter(is_active=True, groups__name="sre").order_by("username")
        ),
        "evidence_is_incomplete": evidence.is_incomplete(run.evidence),
        "check_form": forms.CheckItemForm(),
        "not_applicable_form": forms.NotApplicableForm(),
        "note_form": forms.RunNoteForm(),
    }
    return render(request, "checklists/run.html", context)


def _refused(request: HttpRequest, run: ChecklistRun, form: Form, anchor: str = "") -> HttpResponse:
    """A refused form changes nothing: the reason, with the limit it broke, as a message."""
    messages.error(request, forms.errors_text(form))
    return _back(run, anchor)


def _act(
    request: HttpRequest, run: ChecklistRun, call: object, done: str, anchor: str = ""
) -> HttpResponse:
    try:
        call()  # type: ignore[operator]
    except ChecklistError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return _back(run, anchor)


@require_POST
def check_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get_item_for_user(request, pk)
    form = forms.CheckItemForm(request.POST)
    if not form.is_valid():
        return _refused(request, item.run, form, f"#item-{item.pk}")
    note = form.cleaned_data["note"]
    return _act(
        request,
        item.run,
        lambda: actions.check_item(item, actor=request.user, note=note),  # type: ignore[arg-type]
        f"Checked “{item.title}”.",
        f"#item-{item.pk}",
    )


@require_POST
def not_applicable(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get_item_for_user(request, pk)
    form = forms.NotApplicableForm(request.POST)
    if not form.is_valid():
        return _refused(request, item.run, form, f"#item-{item.pk}")
    reason = form.cleaned_data["reason"]
    return _act(
        request,
        item.run,
        lambda: actions.mark_not_applicable(item, actor=request.user, reason=reason),  # type: ignore[arg-type]
        f"Marked “{item.title}” not applicable.",
        f"#item-{item.pk}",
    )


@require_POST
def reopen_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get_item_for_user(request, pk)
    return _act(
        request,
        item.run,
        lambda: actions.reopen_item(item, actor=request.user),  # type: ignore[arg-type]
        f"Reopened “{item.title}”.",
        f"#item-{item.pk}",
    )


@require_POST
def sign_off(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    _require_sign_off(request)
    done = (
        "Signed off. A different SRE must now review it."
        if run.needs_review
        else "Signed off: the run is complete."
    )
    return _act(request, run, lambda: actions.sign_off(run, actor=request.user), done)  # type: ignore[arg-type]


@require_POST
def review_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    _require_sign_off(request)
    return _act(
        request,
        run,
        lambda: actions.review(run, actor=request.user),  # type: ignore[arg-type]
        "Reviewed: the run is complete.",
    )


@require_POST
def add_note(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    form = forms.RunNoteForm(request.POST)
    if not form.is_valid():
        return _refused(request, run, form, "#notes")
    text = form.cleaned_data["text"]
    return _act(
        request,
        run,
        lambda: actions.add_note(run, actor=request.user, text=text),  # type: ignore[arg-type]
        "Note added.",
        "#notes",
    )


@require_POST
def gather_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    _require_sign_off(request)
    if run.is_signed:
        messages.error(request, "A signed-off run keeps the evidence it was signed with.")
        return _back(run)
    if not actions.store_evidence(run, evidence.gather(run), actor=request.user):  # type: ignore[arg-type]
        messages.error(request, "The run was signed off meanwhile; its evidence stays as it was.")
    else:
        messages.success(request, "Evidence gathered again.")
    return _back(run)


@require_POST
def set_owner(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    _require_sign_off(request)
    form = forms.OwnerForm(request.POST)
    if not form.is_valid():
        return _refused(request, run, form)
    owner = form.cleaned_data["owner"]
    return _act(
        request,
        run,
        lambda: actions.set_owner(run, actor=request.user, owner=owner),  # type: ignore[arg-type]
        f"Owner: {owner or 'nobody'}.",
    )


@require_GET
@permissions.required(
    permissions.SIGN_OFF_CHECKLISTS, "Maintenance checklists are for SREs and business staff."
)
def sla_report(request: HttpRequest) -> HttpResponse:
    """The printable SLA report of a month (the last full month unless ``?month=YYYY-MM``,
    from 2000-01 to next month)."""
    today = timezone.localdate()
    form = forms.SlaMonthForm(request.GET, today=today)
    if not form.is_valid():
        refused: dict[str, Any] = {"form": form, "report": None, "target": sla.TARGET}
        return render(request, "checklists/sla.html", refused, status=400)
    month = form.cleaned_data["month"] or (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    report = sla.build_report(month)
    previous_month = (month - timedelta(days=1)).replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    context = {
        "form": forms.SlaMonthForm(initial={"month": month}, today=today),
        "report": report,
        "target": sla.TARGET,
        "previous_month": f"{previous_month:%Y-%m}"
        if previous_month >= forms.EARLIEST_MONTH
        else "",
        "next_month": f"{next_month:%Y-%m}" if next_month <= today else "",
    }
    return render(request, "checklists/sla.html", context)


@require_GET
@permissions.required(
    permissions.SIGN_OFF_CHECKLISTS, "Maintenance checklists are for SREs and business staff."
)
def export_csv(request: HttpRequest) -> HttpResponse:
    """Every run with its items and signers, one row per item (cells that would start a
    formula are neutralized: ``core.csv_export``)."""
    # Each item row joins its run: the run's evidence snapshot is not exported, and reading it
    # made 50,000 items take 18 s instead of a few (bench/lists.py).
    items = (
        RunItem.objects.select_related(
            "run__owner", "run__signed_off_by", "run__reviewed_by", "checked_by"
        )
        .defer("run__evidence", "guidance")
        .order_by("-run__period_start", "run__cadence", "position")
    )

    def when(moment: object) -> str:
        return timezone.localtime(moment).isoformat() if moment else ""  # type: ignore[arg-type]

    def rows() -> Iterator[list[object]]:
        for item in items.iterator(chunk_size=500):
            run = item.run
            yield [
                run.pk, run.cadence, run.period_start, run.period_end, run.status,
                run.owner or "", when(run.due_at), run.signed_off_by or "",
                when(run.signed_off_at), run.reviewed_by or "", when(run.reviewed_at),
                item.position, item.title, item.status, item.checked_by or "",
                when(item.checked_at), item.note,
            ]  # fmt: skip

    columns = [
        "run", "cadence", "period_start", "period_end", "status", "owner", "due_at",
        "signed_off_by", "signed_off_at", "reviewed_by", "reviewed_at", "position", "item",
        "item_status", "checked_by", "checked_at", "note",
    ]  # fmt: skip
    return csv_response("checklist-runs.csv", columns, rows())
