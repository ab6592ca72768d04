"""Liveness and the panel's own metrics: ``/health``, ``/health/db`` and ``/metrics``, open to
probes and scrapers without a session."""

from __future__ import annotations

from dataclasses import asdict

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from health import checks as health
from health import slots


@login_not_required
@never_cache
@require_GET
def health_view(request: HttpRequest) -> JsonResponse:
    """Liveness for probes: 200 while the web process answers, with the state of its
    dependencies alongside. ``status`` is "ok" only when all of them are."""
    beat = health.check_beat()
    prom = health.check_prometheus()
    database = health.check_database()
    evaluation = health.check_evaluation()
    is_ok = beat.is_ok and prom.is_reachable and database.is_ok and evaluation.is_ok
    return JsonResponse(
        {
            "status": "ok" if is_ok else "degraded",
            "time": timezone.now().isoformat(),
            "database": asdict(database),
            "celery_beat": asdict(beat),
            "evaluation": asdict(evaluation),
            # when each exactly-once task last ran (health.slots; /api/status says where)
            "periodic": slots.last_runs(),
            "prometheus": {
                "is_reachable": prom.is_reachable,
                "url": prom.url,
                "latency_ms": None if prom.latency_ms is None else round(prom.latency_ms, 1),
                "error": prom.error,
                "replicas_down": [{"url": base, "error": why} for base, why in prom.down],
            },
        }
    )


@login_not_required
@never_cache
@require_GET
def health_db(request: HttpRequest) -> JsonResponse:
    """The playbook's ``/health/db``: one database round trip with its time; 503 with the
    reason when the database cannot be reached."""
    result = health.check_database()
    body = {
        "status": "ok" if result.is_ok else "error",
        "vendor": result.vendor,
        "round_trip_ms": result.round_trip_ms,
    }
    if not result.is_ok:
        body["reason"] = result.error
    return JsonResponse(body, status=200 if result.is_ok else 503)


@login_not_required
@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The panel's own metrics in the Prometheus text format."""
    # Refresh the gauges that describe dependencies at scrape time.
    health.check_beat()
    health.check_prometheus()
    health.check_evaluation()
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
