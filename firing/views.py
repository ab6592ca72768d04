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
from firing import actions, noise, paging, reconcile, webhook
from firing import firing_list as firing
from firing import silence_history as history
from firing.choices import ListOrder
from firing.forms import (
    COMMENT_MAX_CHARS,
    EXTENSIONS,
    MAX_SILENCE,
    ORDER_CHOICES,
    AcknowledgeForm,
    ExpireSilenceForm,
    ExtendSilenceForm,
    FiringListForm,
    NoiseListForm,
    SilenceForm,
    SilenceHistoryForm,
    SilenceListForm,
    SilenceSourceForm,
    matchers_for,
    query_problems,
)
from firing.labels import INSTANCE_LABELS, instance_labels
from firing.models import FiringAlert
from integrations import alertmanager
from integrations.alertmanager import AlertmanagerError, Matcher, Silence

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
    """What fires now as Alertmanager holds it: grouped as its route groups notifications,
    the same alert on many pods one card, in the order the query string asks for, with
    Alertmanager's current annotations, who is on it and whether it is silenced; and what
    resolved in the last day. Both lists are paged and filtered by the query string
    (``FiringListForm``).

    The page is also its own live refresh (static/js/live.js fetches it again with
    ``HX-Request``; the whole page answers, so that the navigation's live regions come
    along): each load asks Alertmanager first, and an alert it no longer holds leaves the
    list, recorded as resolved (``firing.reconcile``)."""
    _require(request, permissions.VIEW_OPERATIONS)
    form = FiringListForm(request.GET)
    if not form.is_valid():
        return _bad_query(request, form, "Firing alerts")
    query, per_page = form.cleaned_data, form.cleaned_data["per_page"]
    order = query["order"]
    # Asked before the database is read: its answer decides what still fires.
    now_am = firing.AlertmanagerNow.ask()
    now = timezone.now()
    resolved_now = reconcile.resolve_absent(now_am, now=now)
    condition = form.filters()
    alerts = firing.firing_matching(condition)
    cards = firing.card_counts(alerts, order)
    pager = paging.pager(
        request.GET,
        count=len(cards),
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
    groups = firing.page_groups(
        alerts, cards, offset=pager.offset, limit=per_page, order=order, now_am=now_am, now=now
    )
    reconcile.refresh_annotations(row for g in groups for c in g.cards for row in c.rows)
    start = resolved_pager.offset
    instances = sum(c.count for c in cards)
    group_count = len({c.group for c in cards})
    extra = ""
    if instances > len(cards):
        extra += f", {instances:,} with every instance"
    if group_count > 1:
        extra += f", in {group_count:,} groups"
    return render(
        request,
        "firing/firing.html",
        {
            "groups": groups,
            "pager": pager,
            "group_words": extra,
            "order": order,
            "order_words": ListOrder(order).label,
            "orders": [
                (value, label, _with_query(request, order=value, page=None))
                for value, label in ORDER_CHOICES
            ],
            "resolved": list(resolved[start : start + per_page]),
            "resolved_pager": resolved_pager,
            "resolved_now": resolved_now,
            "instance_labels": sorted(INSTANCE_LABELS),
            "form": form,
            "is_filtered": bool(condition),
            "alertmanager_error": now_am.error,
            "alertmanager_url": settings.ALERTMANAGER_URL,
            "alertmanager_peers_down": alertmanager.peers_down(),
            "asked_at": now_am.asked_at,
            "can_act": permissions.has(request.user, permissions.RUN_ACTIONS),
            "ack_form": AcknowledgeForm(),
            "ack_limit": f"{COMMENT_MAX_CHARS:,}",
        },
    )


def _with_query(request: HttpRequest, **changes: str | None) -> str:
    """This page's address with some query parameters changed (None: left out)."""
    query = request.GET.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = value
    return f"?{query.urlencode()}" if query else request.path


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
    comment = form.cleaned_data["comment"]
    if form.cleaned_data["scope"] == "card":
        # The card's one set of actions: every firing instance of the same alert.
        same = FiringAlert.objects.filter(
            status=alert.status,
            severity=alert.severity,
            alertname=alert.alertname,
            tenant_tier=alert.tenant_tier,
            card_key=alert.card_key,
        )
        count = actions.acknowledge_alerts(same, actor=_actor(request), comment=comment)
        messages.success(
            request, f"Acknowledged {alert.alertname} on {count:,} instance{'s' * (count != 1)}."
        )
    else:
        actions.acknowledge_alert(alert, actor=_actor(request), comment=comment)
        messages.success(request, f"Acknowledged {alert.alertname}.")
    return redirect(f"{reverse('firing:firing')}#alert-{alert.pk}")


@require_GET
def silences(request: HttpRequest) -> HttpResponse:
    """Active and pending silences, with a warning for those that mute nothing and those
    near their end (relative to their own length); each can be extended, edited or expired
    with a reason. Paged and filtered by the query string (``SilenceListForm``); the list is
    a live region (``static/js/live.js``)."""
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
            "alertmanager_peers_down": alertmanager.peers_down(),
            "asked_at": now_am.asked_at,
            "can_act": permissions.has(request.user, permissions.RUN_ACTIONS),
            "extensions": EXTENSIONS,
            "expire_form": ExpireSilenceForm(),
        },
    )


@require_GET
def silence_history(request: HttpRequest) -> HttpResponse:
    """Silences that have ended: who created them and why, how each ended (ran its course,
    expired by whom and why, replaced by an edit), from Alertmanager's expired silences and
    the panel's own audit (which keeps them after Alertmanager forgets); paged
    (``SilenceHistoryForm``)."""
    _require(request, permissions.VIEW_OPERATIONS)
    form = SilenceHistoryForm(request.GET)
    if not form.is_valid():
        return _bad_query(request, form, "Ended silences")
    query = form.cleaned_data
    now_am = firing.AlertmanagerNow.ask(silence_states=("active", "pending", "expired"))
    rows = history.ended_silences(now_am, person=query["person"])
    pager = paging.pager(
        request.GET,
        count=len(rows),
        page=query["page"],
        per_page=query["per_page"],
        param="page",
        noun="ended silences",
    )
    return render(
        request,
        "firing/silence_history.html",
        {
            "rows": rows[pager.offset : pager.offset + pager.per_page],
            "pager": pager,
            "form": form,
            "is_filtered": bool(query["person"]),
            "alertmanager_error": now_am.error,
            "alertmanager_url": settings.ALERTMANAGER_URL,
            "alertmanager_peers_down": alertmanager.peers_down(),
            "window_days": history.HISTORY_WINDOW.days,
        },
    )


def _status_for(exc: AlertmanagerError) -> int:
    """Down: 503; it refused what we sent (the form's fault): 400; it answered nonsense: 502."""
    if exc.is_down:
        return 503
    return 400 if exc.kind == AlertmanagerError.REJECTED else 502


def _with_severity(matchers: list[Matcher], alert: FiringAlert | None) -> list[Matcher]:
    """The matchers, with the alert's severity when the form asks for it (and no line names
    severity already)."""
    if alert is None or not alert.severity or any(m.name == "severity" for m in matchers):
        return matchers
    return [*matchers, Matcher("severity", alert.severity)]


@require_http_methods(["GET", "POST"])
def create_silence(request: HttpRequest) -> HttpResponse:
    """The silence form (GET, prefilled from ``?alert=<id>``, with ``&instances=all`` for
    every instance of its card) and its submission (POST), created in Alertmanager with the
    user's name as its author. The prefill leaves severity out, so that a silence made for a
    warning still holds when the alert turns critical; the form's "only while it has this
    severity" adds it."""
    _require(request, permissions.RUN_ACTIONS)
    source = SilenceSourceForm(request.POST if request.method == "POST" else request.GET)
    if not source.is_valid():
        return _bad_query(request, source, "New silence")
    alert_pk = source.cleaned_data["alert"]
    every_instance = source.cleaned_data["instances"] == "all"
    alert = _get_firing_alert(alert_pk) if alert_pk is not None else None
    context: dict[str, object] = {
        "alert": alert,
        "every_instance": every_instance,
        "has_instances": bool(alert and instance_labels(alert.labels)),
    }
    if request.method == "GET":
        initial: dict[str, object] = {"alert": alert.pk if alert else None}
        if alert:
            matchers = matchers_for(alert, every_instance=every_instance)
            initial["matchers"] = "\n".join(str(m) for m in matchers)
        form = SilenceForm(initial=initial)
        return render(request, "firing/silence_form.html", {**context, "form": form})
    form = SilenceForm(request.POST)
    if not form.is_valid() or not form.has_end:
        return render(request, "firing/silence_form.html", {**context, "form": form}, status=400)
    starts_at = timezone.now()
    ends_at = form.end(starts_at)
    matchers = form.cleaned_data["matchers"]
    if form.cleaned_data["match_severity"]:
        matchers = _with_severity(matchers, alert)
    try:
        silence_id = actions.create_silence(
            matchers,
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
            {**context, "form": form, "alertmanager_error": exc},
            status=_status_for(exc),
        )
    messages.success(
        request, f"Silence created until {timezone.localtime(ends_at):%Y-%m-%d %H:%M %Z}."
    )
    return redirect(f"{reverse('firing:silences')}#silence-{silence_id}")


def _get_silence(silence_id: uuid.UUID) -> Silence:
    """The silence from Alertmanager: 404 when it does not know it, 503/502 raised on."""
    try:
        return alertmanager.get_silence(str(silence_id))
    except AlertmanagerError as exc:
        if exc.is_not_found:
            raise Http404("No such silence in Alertmanager.") from exc
        raise


def _alertmanager_failed(request: HttpRequest, exc: AlertmanagerError, page: str) -> HttpResponse:
    return render(
        request,
        "firing/silence_unavailable.html",
        {"alertmanager_error": exc, "page_title": page},
        status=_status_for(exc),
    )


@require_http_methods(["GET", "POST"])
def edit_silence(request: HttpRequest, silence_id: uuid.UUID) -> HttpResponse:
    """Change a silence's matchers, end or comment (GET: the form filled with it; POST:
    sent to Alertmanager). Alertmanager keeps the silence when only its end or comment
    change, and otherwise replaces it with a new one and expires the old; the page says
    which, and the audit keeps both ids."""
    _require(request, permissions.RUN_ACTIONS)
    try:
        silence = _get_silence(silence_id)
    except AlertmanagerError as exc:
        return _alertmanager_failed(request, exc, "Edit silence")
    context: dict[str, object] = {"silence": silence, "editing": True}
    if silence.state == "expired":
        context["has_ended"] = True
        return render(request, "firing/silence_form.html", context, status=409)
    if request.method == "GET":
        form = SilenceForm(
            initial={
                "matchers": "\n".join(str(m) for m in silence.matchers),
                "comment": silence.comment,
                "duration": "until",
                "ends_at": timezone.localtime(silence.ends_at).replace(second=0, microsecond=0),
            }
        )
        return render(request, "firing/silence_form.html", {**context, "form": form})
    form = SilenceForm(request.POST)
    if not form.is_valid() or not form.has_end:
        return render(request, "firing/silence_form.html", {**context, "form": form}, status=400)
    ends_at = form.end(timezone.now())
    try:
        new_id = actions.change_silence(
            silence,
            form.cleaned_data["matchers"],
            actor=_actor(request),
            ends_at=ends_at,
            comment=form.cleaned_data["comment"],
        )
    except actions.SilenceEnded:
        context["has_ended"] = True
        return render(request, "firing/silence_form.html", {**context, "form": form}, status=409)
    except AlertmanagerError as exc:
        return render(
            request,
            "firing/silence_form.html",
            {**context, "form": form, "alertmanager_error": exc},
            status=_status_for(exc),
        )
    until = f"{timezone.localtime(ends_at):%Y-%m-%d %H:%M %Z}"
    return _changed(request, f"Silence changed; it ends {until}", silence.id, new_id)


@require_POST
def extend_silence(request: HttpRequest, silence_id: uuid.UUID) -> HttpResponse:
    """End a silence later by one of ``forms.EXTENSIONS`` (at most 14 days from now)."""
    _require(request, permissions.RUN_ACTIONS)
    form = ExtendSilenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The silence was not extended: {' '.join(query_problems(form))}")
        return redirect("firing:silences")
    try:
        silence = _get_silence(silence_id)
        new_id = actions.extend_silence(
            silence, actor=_actor(request), by=form.length, limit=MAX_SILENCE
        )
    except actions.SilenceEnded:
        messages.error(request, "The silence has ended (or was replaced): it was not extended.")
        return redirect("firing:silences")
    except ValueError as exc:
        messages.error(request, f"The silence was not extended: {exc} (at most 14 days).")
        return redirect(f"{reverse('firing:silences')}#silence-{silence_id}")
    except AlertmanagerError as exc:
        messages.error(request, f"The silence was not extended. {exc}")
        return redirect("firing:silences")
    words = dict(EXTENSIONS)[form.cleaned_data["by"]]
    return _changed(request, f"Silence extended by {words}", silence.id, new_id)


def _changed(request: HttpRequest, done: str, old_id: str, new_id: str) -> HttpResponse:
    """Back to the silence in the list, saying what was done and whether Alertmanager updated
    it in place or replaced it (a change of matchers)."""
    if new_id == old_id:
        messages.success(request, f"{done}.")
    else:
        messages.success(
            request,
            f"{done}. Alertmanager replaced it with a new silence and expired the old one "
            "(the history keeps both).",
        )
    return redirect(f"{reverse('firing:silences')}#silence-{new_id}")


@require_POST
def expire_silence(request: HttpRequest, silence_id: uuid.UUID) -> HttpResponse:
    """End a silence now, with an optional reason kept in the history (anyone on the SRE
    team may: Alertmanager keeps who created it)."""
    _require(request, permissions.RUN_ACTIONS)
    form = ExpireSilenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The silence was not expired: {' '.join(query_problems(form))}")
        return redirect("firing:silences")
    try:
        actions.expire_silence(
            str(silence_id), actor=_actor(request), reason=form.cleaned_data["reason"]
        )
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
