"""Views of the alerts app."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from alerts.models import Check
from controlpanel.health import EVALUATION_HEARTBEAT
from controlpanel.models import Heartbeat
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
