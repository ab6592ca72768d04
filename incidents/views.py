"""The incident pages: the list, one incident's timeline with its durations, its Markdown
export, and the three writes (open by hand, add a note, close with a summary).

SREs see and write incidents (``VIEW_OPERATIONS`` to see, ``RUN_ACTIONS`` to write); business
staff are refused. The list and the timeline are live regions (``static/js/live.js``); the
forms sit outside them, so a refresh never takes what someone is typing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core import paging, permissions
from incidents import actions, grouping, markdown, timeline
from incidents.forms import CloseForm, IncidentListForm, NoteForm, OpenIncidentForm
from incidents.models import Incident


def _require_view(request: HttpRequest) -> None:
    permissions.require(request, permissions.VIEW_OPERATIONS, "Incidents are for the SRE team.")


def _require_write(request: HttpRequest) -> None:
    _require_view(request)
    permissions.require(
        request, permissions.RUN_ACTIONS, "Your role cannot open, note or close incidents."
    )


def _get_incident_for_user(request: HttpRequest, pk: int, *, write: bool = False) -> Incident:
    """The incident, once the role may see it (or write to it): 403 before 404, so that a
    refused role learns nothing about which incidents exist."""
    if write:
        _require_write(request)
    else:
        _require_view(request)
    return get_object_or_404(Incident.objects.select_related("opened_by", "closed_by"), pk=pk)


@require_GET
def incidents(request: HttpRequest) -> HttpResponse:
    """Incidents, newest first, filtered by ``?status=`` and paged."""
    _require_view(request)
    form = IncidentListForm(request.GET)
    page = None
    if form.is_valid():
        rows = (
            Incident.objects.select_related("opened_by", "closed_by")
            .prefetch_related("alerts")
            .annotate(check_count=Count("members"))
            .order_by("-opened_at", "-pk")
        )
        if form.cleaned_data["status"]:
            rows = rows.filter(status=form.cleaned_data["status"])
        page = form.paginate(rows)
    can_write = permissions.has(request.user, permissions.RUN_ACTIONS)
    return render(
        request,
        "incidents/list.html",
        {
            "form": form,
            "page": page,
            "rows": page.object_list if page else [],
            "page_sizes": paging.PAGE_SIZES,
            "open_form": OpenIncidentForm() if can_write else None,
            "can_write": can_write,
            "group_window": grouping.GROUP_WINDOW,
        },
        status=200 if form.is_valid() else 400,
    )


def _render_incident(
    request: HttpRequest,
    incident: Incident,
    *,
    note_form: NoteForm | None = None,
    close_form: CloseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_write = permissions.has(request.user, permissions.RUN_ACTIONS)
    context: dict[str, Any] = {
        "incident": incident,
        "timeline": timeline.build(incident),
        "timeline_limit": timeline.LIMIT,
        "can_write": can_write,
        "note_form": note_form or NoteForm(),
        "close_form": close_form or CloseForm(),
    }
    return render(request, "incidents/incident.html", context, status=status)


@require_GET
def incident(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_incident(request, _get_incident_for_user(request, pk))


@require_GET
def export_incident(request: HttpRequest, pk: int) -> HttpResponse:
    """The incident as Markdown, downloaded, for the postmortem."""
    incident = _get_incident_for_user(request, pk)
    response = HttpResponse(
        markdown.render(incident, timeline.build(incident)),
        content_type="text/markdown; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="incident-{incident.pk}.md"'
    return response


@require_POST
def open_incident(request: HttpRequest) -> HttpResponse:
    _require_write(request)
    form = OpenIncidentForm(request.POST)
    if not form.is_valid():
        errors = " ".join(str(e) for field in form for e in field.errors)
        messages.error(request, f"The incident was not opened: {errors}")
        return redirect("incidents:incidents")
    incident = actions.open_incident(
        form.cleaned_data["title"],
        actor=request.user,
        alert=form.cleaned_data["alert"],
        note=form.cleaned_data["note"],
    )
    messages.success(request, "Incident opened.")
    return redirect("incidents:incident", pk=incident.pk)


@require_POST
def add_note(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident_for_user(request, pk, write=True)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _render_incident(request, incident, note_form=form, status=400)
    actions.add_note(incident, form.cleaned_data["text"], actor=request.user)
    messages.success(request, "Note added.")
    return redirect(reverse("incidents:incident", kwargs={"pk": pk}) + "#timeline")


@require_POST
def close_incident(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident_for_user(request, pk, write=True)
    form = CloseForm(request.POST)
    if not form.is_valid():
        return _render_incident(request, incident, close_form=form, status=400)
    try:
        actions.close_incident(incident, form.cleaned_data["summary"], actor=request.user)
    except actions.IncidentClosed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Incident closed.")
    return redirect("incidents:incident", pk=pk)
