"""Request-wide wiring the apps rely on."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from integrations import prometheus


class PrometheusBudgetMiddleware:
    """Every page's Prometheus calls (its charts, its banner probe, anything else) share one
    budget, ``PAGE_PROMETHEUS_BUDGET`` seconds in all: with Prometheus hanging, a page answers
    in that time and says what it could not fetch, instead of waiting out one timeout after
    another. Views that need more (the admin's 30-day backtest) set their own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with prometheus.deadline(settings.PAGE_PROMETHEUS_BUDGET):
            return self.get_response(request)
