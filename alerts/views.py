"""Views of the alerts app."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts import actions, agreement, alertmanager, firing, noise, rules, webhook
from alerts.alertmanager import AlertmanagerError
from alerts.forms import AcknowledgeForm, SilenceForm, matchers_for
from alerts.models import Check, FiringAlert
from controlpanel.health import EVALUATION_HEARTBEAT
from controlpanel.models import Heartbeat
from metrics import prometheus
from metrics.models import Dashboard


def _get_checks_for_user(request: HttpRequest) -> QuerySet[Check]:
    """SREs see every check; business staff those of the metrics on their dashboards."""
    user = request.user
    checks = Check.objects.select_related("threshold__metric", "threshold__alert")
    if user.has_perm("controlpanel.view_operations"):
        return checks
    if user.has_perm("controlpanel.view_business"):
        # JSON "contains" lookups are not portable to SQLite; four dashboards are few.
        boards = [d.pk for d in Dashboard.objects.only("audience") if "business" in d.audience]
        return checks.filter(threshold__metric__panels__dashboard__in=boards).distinct()
    raise PermissionDenied("Your role cannot see the checks.")


@require_GET
def check_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every change of state of one check, newest first."""
    check = _get_checks_for_user(request).filter(pk=pk).first()
    if check is None:
        raise Http404("No such check, or not one your role can see.")
    changes = check.changes.all()[:500]
    return render(request, "alerts/check_history.html", {"check": check, "changes": changes})


@require_GET
def api_status(request: HttpRequest) -> JsonResponse:
    """Every check the user may see, with its state, value, unit, since when and why; and the
    time of the last evaluation. A check not evaluated for three intervals says it is stale."""
    checks = _get_checks_for_user(request).order_by("signature")
    now = timezone.now()
    stale_after = timedelta(seconds=3 * settings.EVALUATION_INTERVAL)
    beat = Heartbeat.objects.filter(name=EVALUATION_HEARTBEAT).first()
    return JsonResponse(
        {
            "evaluated_at": beat.last_seen.isoformat() if beat else None,
            "interval_seconds": settings.EVALUATION_INTERVAL,
            "checks": [
                {
                    "key": check.signature,
                    "threshold": check.threshold.key,
                    "alert": check.threshold.alert.name,
                    "labels": check.labels,
                    "state": check.state,
                    "value": check.value,
                    "unit": check.threshold.metric.unit,
                    "since": check.since.isoformat() if check.since else None,
                    "reason": check.reason,
                    "evaluated_at": check.evaluated_at.isoformat() if check.evaluated_at else None,
                    "is_stale": check.evaluated_at is None
                    or now - check.evaluated_at > stale_after,
                }
                for check in checks
            ],
        }
    )


# --- Alertmanager: webhook, firing alerts, silences ------------------------------------------

logger = logging.getLogger(__name__)
VIEW_ALERTS = "controlpanel.view_operations"
ACT_ON_ALERTS = "controlpanel.run_actions"


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied("Alerts and silences are for the SRE team.")


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


@require_GET
def firing_alerts(request: HttpRequest) -> HttpResponse:
    """What fires now, grouped as Alertmanager routes it, with who is on it and whether it is
    silenced; and what resolved in the last day."""
    _require(request, VIEW_ALERTS)
    now = timezone.now()
    now_am = firing.AlertmanagerNow.ask()
    return render(
        request,
        "alerts/firing.html",
        {
            "groups": firing.firing_groups(firing.current_firing(), now_am, now),
            "resolved": firing.recently_resolved(now),
            "alertmanager_error": now_am.error,
            "alertmanager_url": settings.ALERTMANAGER_URL,
            "can_act": request.user.has_perm(ACT_ON_ALERTS),
            "ack_form": AcknowledgeForm(),
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
    _require(request, ACT_ON_ALERTS)
    alert = _get_firing_alert(pk)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        return render(
            request, "alerts/acknowledge.html", {"alert": alert, "form": form}, status=400
        )
    actor = request.user
    if not isinstance(actor, User):  # LoginRequiredMiddleware let only signed-in users here
        raise PermissionDenied("Sign in to acknowledge alerts.")
    actions.acknowledge_alert(alert, actor=actor, comment=form.cleaned_data["comment"])
    messages.success(request, f"Acknowledged {alert.alertname}.")
    return redirect(f"{reverse('alerts:firing')}#alert-{alert.pk}")


@require_GET
def silences(request: HttpRequest) -> HttpResponse:
    """Active and pending silences, with a warning for those that mute nothing and those
    that end within the hour."""
    _require(request, VIEW_ALERTS)
    now_am = firing.AlertmanagerNow.ask()
    return render(
        request,
        "alerts/silences.html",
        {
            "rows": firing.silence_rows(now_am),
            "alertmanager_error": now_am.error,
            "alertmanager_url": settings.ALERTMANAGER_URL,
            "can_act": request.user.has_perm(ACT_ON_ALERTS),
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
    _require(request, ACT_ON_ALERTS)
    source = request.POST if request.method == "POST" else request.GET
    alert_pk = source.get("alert", "")
    alert = _get_firing_alert(int(alert_pk)) if alert_pk.isdigit() else None
    if request.method == "GET":
        initial: dict[str, object] = {"alert": alert.pk if alert else None}
        if alert:
            initial["matchers"] = "\n".join(str(m) for m in matchers_for(alert))
        form = SilenceForm(initial=initial)
        return render(request, "alerts/silence_form.html", {"form": form, "alert": alert})
    form = SilenceForm(request.POST)
    if not form.is_valid() or "length" not in form.cleaned_data:
        return render(
            request, "alerts/silence_form.html", {"form": form, "alert": alert}, status=400
        )
    starts_at = timezone.now()
    ends_at = starts_at + form.cleaned_data["length"]
    try:
        silence_id = alertmanager.create_silence(
            form.cleaned_data["matchers"],
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=request.user.get_username(),
            comment=form.cleaned_data["comment"],
        )
    except AlertmanagerError as exc:
        return render(
            request,
            "alerts/silence_form.html",
            {"form": form, "alert": alert, "alertmanager_error": exc},
            status=_status_for(exc),
        )
    logger.info("silence %s created by %s", silence_id, request.user.get_username())
    messages.success(
        request, f"Silence created until {timezone.localtime(ends_at):%Y-%m-%d %H:%M %Z}."
    )
    return redirect(f"{reverse('alerts:silences')}#silence-{silence_id}")


@require_POST
def expire_silence(request: HttpRequest, silence_id: uuid.UUID) -> HttpResponse:
    """End a silence now (anyone on the SRE team may: Alertmanager keeps who created it)."""
    _require(request, ACT_ON_ALERTS)
    try:
        alertmanager.expire_silence(str(silence_id))
    except AlertmanagerError as exc:
        if exc.is_not_found:
            messages.error(request, "No such silence in Alertmanager: it may have ended already.")
        else:
            messages.error(request, f"The silence was not expired. {exc}")
    else:
        logger.info("silence %s expired by %s", silence_id, request.user.get_username())
        messages.success(request, "Silence expired: the alerts it muted notify again.")
    return redirect("alerts:silences")


@require_GET
def rules_page(request: HttpRequest) -> HttpResponse:
    """The exported rules as Prometheus runs them (health, last error, what fires), and the
    agreement of the panel's own states with Prometheus's alerts, check by check."""
    _require(request, VIEW_ALERTS)
    loaded = prometheus.alerting_rules()
    checks = list(
        Check.objects.select_related("threshold__alert", "threshold__metric").order_by("signature")
    )
    comparisons = agreement.compare(checks, list(loaded.rules)) if loaded.is_ok else []
    ours = [r for r in loaded.rules if "threshold" in r.labels]
    context = {
        "tab": "rules",
        "loaded": loaded,
        "rules": ours,
        "unhealthy": [r for r in ours if r.health == "err"],
        "not_evaluated": [r for r in ours if r.health == "unknown"],
        "comparisons": comparisons,
        "differ": [c for c in comparisons if c.verdict == "differ"],
        "expected_rules": len(
            [r for group in rules.export_rules()["groups"] for r in group["rules"]]
        ),
        "prometheus_url": settings.PROMETHEUS_URL,
        "interval": settings.EVALUATION_INTERVAL,
    }
    return render(request, "alerts/rules.html", context)


@require_GET
def rules_download(request: HttpRequest) -> HttpResponse:
    """The thresholds as a Prometheus rule file (what `manage.py export_rules` prints)."""
    _require(request, VIEW_ALERTS)
    response = HttpResponse(rules.render(rules.export_rules()), content_type="application/yaml")
    response["Content-Disposition"] = f'attachment; filename="{rules.RULE_FILE_NAME}"'
    return response


@require_GET
def noise_report(request: HttpRequest) -> HttpResponse:
    """Every alert over 7 and 30 days, the noisiest first (the playbook's tuning process)."""
    _require(request, VIEW_ALERTS)
    try:
        silences: list | None = alertmanager.list_silences(states=("active", "pending", "expired"))
        silence_error = ""
    except AlertmanagerError as exc:
        silences, silence_error = None, str(exc)
    rows = noise.build_report(timezone.now(), silences)
    context = {"tab": "noise", "rows": rows, "silence_error": silence_error}
    return render(request, "alerts/noise.html", context)
