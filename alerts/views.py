"""Views of the alerts app: the status API, a check's history, and the rules as Prometheus
runs them."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from alerts import agreement
from alerts import rules_export as rules
from alerts.models import Check
from core import permissions
from core.choices import State
from core.paging import PageForm
from health import slots
from health.checks import EVALUATION_HEARTBEAT
from health.models import Heartbeat
from integrations import prometheus
from metrics.models import Dashboard


def _get_checks_for_user(request: HttpRequest) -> QuerySet[Check]:
    """SREs see every check; business staff those of the metrics on their dashboards."""
    user = request.user
    checks = Check.objects.select_related("threshold__metric", "threshold__alert")
    if permissions.has(user, permissions.VIEW_OPERATIONS):
        return checks
    if permissions.has(user, permissions.VIEW_BUSINESS):
        # JSON "contains" lookups are not portable to SQLite; four dashboards are few.
        boards = [
            d.pk
            for d in Dashboard.objects.only("audience")
            if permissions.sees_audience(user, d.audience)
        ]
        return checks.filter(threshold__metric__panels__dashboard__in=boards).distinct()
    raise PermissionDenied("Your role cannot see the checks.")


@require_GET
def check_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every change of state of one check, newest first, a page at a time (``?page=``,
    ``?per_page=``)."""
    check = _get_checks_for_user(request).filter(pk=pk).first()
    if check is None:
        raise Http404("No such check, or not one your role can see.")
    form = PageForm(request.GET)
    page = form.paginate(check.changes.order_by("-at", "-pk")) if form.is_valid() else None
    return render(
        request,
        "alerts/check_history.html",
        {
            "check": check,
            "form": form,
            "page": page,
            "changes": page.object_list if page is not None else [],
        },
        status=200 if page is not None else 400,
    )


class StatusFilterForm(forms.Form):
    """``/api/status?state=critical&state=warning``: only the checks in those states (at
    1,000 pods every check is about 1 MB; a tool watching for trouble asks for less)."""

    state = forms.MultipleChoiceField(
        required=False,
        choices=State.choices,
        error_messages={"invalid_choice": "state must be one of: " + ", ".join(State.values) + "."},
    )


# What /api/status reads of each check: plain rows, not model instances with their joins
# (2,300 checks at 1,000 pods: 0.5 s as instances).
_STATUS_COLUMNS = (
    "signature",
    "threshold__key",
    "threshold__alert__name",
    "labels",
    "state",
    "value",
    "threshold__metric__unit",
    "since",
    "reason",
    "evaluated_at",
)


@require_GET
def api_status(request: HttpRequest) -> JsonResponse:
    """Every check the user may see (or those in the ``?state=`` asked), with its state,
    value, unit, since when and why; how many checks are in each state; and the time of the
    last evaluation. A check not evaluated for three intervals says it is stale."""
    form = StatusFilterForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        return JsonResponse({"error": errors}, status=400)
    checks = _get_checks_for_user(request).order_by("signature")
    now = timezone.now()
    stale_after = timedelta(seconds=3 * settings.EVALUATION_INTERVAL)
    beat = Heartbeat.objects.filter(name=EVALUATION_HEARTBEAT).first()
    wanted = set(form.cleaned_data["state"])
    counts = dict.fromkeys(State.values, 0)
    listed = []
    for row in checks.values_list(*_STATUS_COLUMNS):
        key, threshold, alert, labels, state, value, unit, since, reason, evaluated_at = row
        counts[state] = counts.get(state, 0) + 1
        if wanted and state not in wanted:
            continue
        listed.append(
            {
                "key": key,
                "threshold": threshold,
                "alert": alert,
                "labels": labels,
                "state": state,
                "value": value,
                "unit": unit,
                "since": since.isoformat() if since else None,
                "reason": reason,
                "evaluated_at": evaluated_at.isoformat() if evaluated_at else None,
                "is_stale": evaluated_at is None or now - evaluated_at > stale_after,
            }
        )
    return JsonResponse(
        {
            "evaluated_at": beat.last_seen.isoformat() if beat else None,
            "interval_seconds": settings.EVALUATION_INTERVAL,
            # which host ran the last tick of each exactly-once task (health.slots)
            "periodic": slots.last_runs(with_hosts=True),
            "counts": {"total": sum(counts.values()), **counts},
            "checks": listed,
        }
    )


@require_GET
def rules_page(request: HttpRequest) -> HttpResponse:
    """The exported rules as Prometheus runs them (health, last error, what fires), and the
    agreement of the panel's own states with Prometheus's alerts, check by check."""
    permissions.require(request, permissions.VIEW_OPERATIONS, "The rules are for the SRE team.")
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
    permissions.require(request, permissions.VIEW_OPERATIONS, "The rules are for the SRE team.")
    response = HttpResponse(rules.render(rules.export_rules()), content_type="application/yaml")
    response["Content-Disposition"] = f'attachment; filename="{rules.RULE_FILE_NAME}"'
    return response
