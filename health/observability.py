"""The panel's own Prometheus metrics (served at ``/metrics``).

The web server runs one process with threads (see the Procfile), so the default in-process
registry is the whole truth and no multiprocess directory is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "controlpanel_http_requests_total",
    "HTTP requests answered by the panel.",
    ["method", "view", "status"],
)
REQUEST_LATENCY = Histogram(
    "controlpanel_http_request_duration_seconds",
    "Time to answer an HTTP request, by view.",
    ["method", "view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BEAT_HEARTBEAT_AGE = Gauge(
    "controlpanel_beat_heartbeat_age_seconds",
    "Seconds since Celery beat and a worker last recorded a heartbeat (NaN if never).",
)
EVALUATION_LAG = Gauge(
    "controlpanel_evaluation_lag_seconds",
    "Seconds since the last threshold evaluation cycle finished (NaN if none has).",
)
PROMETHEUS_UP = Gauge(
    "controlpanel_prometheus_reachable",
    "1 if the panel's Prometheus answered its readiness probe, else 0.",
)

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


class RequestMetricsMiddleware:
    """Counts and times every request by view name, never by raw path: a path per label
    would give each 404 probe its own time series."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else None) or "unresolved"
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(method, view, str(response.status_code)).inc()
        REQUEST_LATENCY.labels(method, view).observe(elapsed)
        return response
