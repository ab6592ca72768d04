"""Views of the Alertmanager loop: the webhook, the firing list, acknowledgements, silences
and the noise report."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import permissions
from firing import actions, noise, paging, webhook
from firing import firing_list as firing
from firing.forms import (
    COMMENT_MAX_CHARS,
    AcknowledgeForm,
    FiringListForm,
    NoiseListForm,
    SilenceForm,
    SilenceListForm,
    SilenceSourceForm,
    matchers_for,
    query_problems,
)
from firing.models import FiringAlert
from integrations import alertmanager
from integrations.alertmanager import AlertmanagerError

logger = logging.getLogger(__name__)


def _require(request: HttpRequest, permission: str) -> None:
    permissions.require(request, permission, "Alerts and silences are for the SRE team.")


def _actor(request: HttpRequest) -> User:
    actor = request.user
    if not isinstance(actor, User):  # LoginRequiredMiddleware let only signed-in users here
        raise PermissionDenied("Sign in first.")
    return actor


@csrf_exempt
@login_not_required
@require_POST
def alertmanager_webhook(request: HttpRequest) -> JsonResponse:
    """Alertmanager's deliveries. No session: Alertmanager proves itself with the bearer
    token, and a panel without a configured token refuses everything rather than accept
    anyone's alerts."""
    token = settings.ALERTMANAGER_WEBHOOK_TOKEN
    if not token:
        return JsonResponse(
            {"error": "ALERTMANAGER_WEBHOOK_TOKEN is not configured; every delivery is refused."},
            status=403,
        )
    if not webhook.is_authorized(request.headers.get("Authorization"), token):
        logger.warning(
            "webhook delivery with a missing or wrong token from %s",
            request.META.get("REMOTE_ADDR"),
        )
        response = JsonResponse({"error": "missing or wrong bearer token"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="alertmanager-webhook"'
        return response
    try:
        body = webhook.read_body(request)
    except webhook.BodyTooLarge:
        return JsonResponse(
            {"error": f"body larger than {webhook.MAX_BODY_BYTES} bytes"}, status=413
        )
    try:
        delivery = webhook.parse_payload(body)
    except webhook.PayloadError as exc:
        logger.warning("webhook delivery refused: %s", exc)
        return JsonResponse({"error": str(exc), "field": exc.field}, status=400)
    result = webhook.store_delivery(delivery)
    return JsonResponse({"stored": result.stored, "created": result.created})


def _bad_query(request: HttpRequest, form: Form, page: str) -> HttpResponse:
    """A page's GET parameters out of bounds: 400, naming each one and what it may be."""
    return render(
        request,
        "firing/bad_query.html",
        {"problems": query_problems(form), "page_title": page, "back": request.path},
        status=400,
    )


@require_GET
def firing_alerts(request: HttpRequest) -> HttpResponse:
    """What fires now, grouped as Alertmanager routes it, with who is on it and whether it is
    silenced; and what resolved in the last day. Both lists are paged and filtered by the
    query string (``FiringListForm``)."""
    _require(request, permissions.VIEW_OPERATIONS)
    form = FiringListForm(request.GET)
    if not form.is_valid():
        return _bad_query(request, form, "Firing alerts")
    query, per_page = form.cleaned_data, form.cleaned_data["per_page"]
    now = timezone.now()
    condition = form.filters()
    alerts = firing.firing_matching(condition)
    counts = firing.group_counts(alerts)
    pager = paging.pager(
        request.GET,
        count=sum(c.count for c in counts),
        page=query["page"],
        per_page=per_page,
        param="page",
        noun="firing alerts",
    )
    resolved = firing.resolved_matching(condition, now)
    resolved_pager = paging.pager(
        request.GET,
        count=resolved.count(),
        page=query["resolved_page"],
        per_page=per_page,
        param="resolved_page",
        noun="alerts resolved in the last 24 hours",
        anchor="resolved-head",
    )
    # Asked after the database so that a slow Alertmanager is the last wait, not the first.
    now_am = firing.AlertmanagerNow.ask()
    groups = firing.page_groups(
        alerts, counts, offset=pager.offset, limit=per_page, now_am=now_am, now=now
    )
    start = resolved_pager.offset
    return render(
        request,
        "firing/firing.html",
        {
            "groups": groups,
            "pager": pager,
            "group_words": f", in {len(counts):,} groups" if len(counts) > 1 else "",
            "resolved": list(resolved[start : start + per_page]),
            "resolved_pager": resolved_pager,
            "form": form,
            "is_filtered": bool(condition),
            "alertmanager_error": now_am.error,
            "alertmanager_url": settings.ALERTMANAGER_URL,
            "can_act": permissions.has(request.user, permissions.RUN_ACTIONS),
            "ack_form": AcknowledgeForm(),
            "ack_limit": f"{COMMENT_MAX_CHARS:,}",
        },
    )


def _get_firing_alert(pk: int) -> FiringAlert:
    alert = FiringAlert.objects.filter(pk=pk).first()
    if alert is None:
        raise Http404("No such alert.")
    return alert


@require_POST
def acknowledge_alert(request: HttpRequest, pk: int) -> HttpResponse:
    """Say you are on it, with a comment the next person reads."""
    _require(request, permissions.RUN_ACTIONS)
    alert = _get_firing_alert(pk)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        return render(
            request, "firing/acknowledge.html", {"alert": alert, "form": form}, status=400
        )
    actions.acknowledge_alert(alert, actor=_actor(request), comment=form.cleaned_data["comment"])
    messages.success(request, f"Acknowledged {alert.alertname}.")
    return redirect(f"{reverse('firing:firing')}#alert-{alert.pk}")


@require_GET
def silences(request: HttpRequest) -> HttpResponse:
    """Active and pending silences, with a warning for those that mute nothing and those
    that end within the hour; paged and filtered by the query string (``SilenceListForm``)."""
    _require(request, permissions.VIEW_OPERATIONS)
    form = SilenceListForm(request.GET)
    if not form.is_valid():
        return _bad_query(request, form, "Silences")
    query = form.cleaned_data
    now_am = firing.AlertmanagerNow.ask()
    listed = firing.listed_silences(now_am, state=query["state"], created_by=query["created_by"])
    pager = paging.pager(
        request.GET,
        count=len(listed),
        page=query["page"],
        per_page=query["per_page"],
        param="page",
        noun="silences",
    )
    shown = listed[pager.offset : pager.offset + pager.per_page]
    return render(
        request,
        "firing/silences.html",
        {
            "rows": firing.silence_rows(shown, now_am),
            "pager": pager,
            "form": form,
            "is_filtered": bool(query["state"] or query["created_by"]),
            "alertmanager_error": now_am.error,
            "alertmanager_url": settings.ALERTMANAGER_URL,
            "can_act": permissions.has(request.user, permissions.RUN_ACTIONS),
        },
    )


def _status_for(exc: AlertmanagerError) -> int:
    """Down: 503; it refused what we sent (the form's fault): 400; it answered nonsense: 502."""
    if exc.is_down:
        return 503
    return 400 if exc.kind == AlertmanagerError.REJECTED else 502


@require_http_methods(["GET", "POST"])
def create_silence(request: HttpRequest) -> HttpResponse:
    """The silence form (GET, prefilled from ``?alert=<id>``) and its submission (POST),
    created in Alertmanager with the user's name as its author."""
    _require(request, permissions.RUN_ACTIONS)
    source = SilenceSourceForm(request.POST if request.method == "POST" else request.GET)
    if not source.is_valid():
        return _bad_query(request, source, "New silence")
    alert_pk = source.cleaned_data["alert"]
    alert = _get_firing_alert(alert_pk) if alert_pk is not None else None
    if request.method == "GET":
        initial: dict[str, object] = {"alert": alert.pk if alert else None}
        if alert:
            initial["matchers"] = "\n".join(str(m) for m in matchers_for(alert))
        form = SilenceForm(initial=initial)
        return render(request, "firing/silence_form.html", {"form": form, "alert": alert})
    form = SilenceForm(request.POST)
    if not form.is_valid() or "length" not in form.cleaned_data:
        return render(
            request, "firing/silence_form.html", {"form": form, "alert": alert}, status=400
        )
    starts_at = timezone.now()
    ends_at = starts_at + form.cleaned_data["length"]
    try:
        silence_id = actions.create_silence(
            form.cleaned_data["matchers"],
            actor=_actor(request),
            starts_at=starts_at,
            ends_at=ends_at,
            comment=form.cleaned_data["comment"],
            alert=alert,
        )
    except AlertmanagerError as exc:
        return render(
            request,
            "firing/silence_form.html",
            {"form": form, "alert": alert, "alertmanager_error": exc},
            status=_status_for(exc),
        )
    messages.success(
        request, f"Silence created until {timezone.localtime(ends_at):%Y-%m-%d %H:%M %Z}."
    )
    return redirect(f"{reverse('firing:silences')}#silence-{silence_id}")


@require_POST
def expire_silence(request: HttpRequest, silence_id: uuid.UUID) -> HttpResponse:
    """End a silence now (anyone on the SRE team may: Alertmanager keeps who created it)."""
    _require(request, permissions.RUN_ACTIONS)
    try:
        actions.expire_silence(str(silence_id), actor=_actor(request))
    except AlertmanagerError as exc:
        if exc.is_not_found:
            messages.error(request, "No such silence in Alertmanager: it may have ended already.")
        else:
            messages.error(request, f"The silence was not expired. {exc}")
    else:
        messages.success(request, "Silence expired: the alerts it muted notify again.")
    return redirect("firing:silences")


@require_GET
def noise_report(request: HttpRequest) -> HttpResponse:
    """Every alert over 7 and 30 days, the noisiest first (the playbook's tuning process);
    paged, filtered and ordered by the query string (``NoiseListForm``)."""
    _require(request, permissions.VIEW_OPERATIONS)
    form = NoiseListForm(request.GET)
    if not form.is_valid():
        return _bad_query(request, form, "Alert noise")
    query = form.cleaned_data
    try:
        silences: list | None = alertmanager.list_silences(states=("active", "pending", "expired"))
        silence_error = ""
    except AlertmanagerError as exc:
        silences, silence_error = None, str(exc)
    rows = noise.select_rows(
        noise.build_report(timezone.now(), silences), alert=query["alert"], sort=query["sort"]
    )
    pager = paging.pager(
        request.GET,
        count=len(rows),
        page=query["page"],
        per_page=query["per_page"],
        param="page",
        noun="alerts",
    )
    context = {
        "tab": "noise",
        "rows": rows[pager.offset : pager.offset + pager.per_page],
        "pager": pager,
        "form": form,
        "is_filtered": bool(query["alert"]),
        "silence_error": silence_error,
    }
    return render(request, "firing/noise.html", context)
