"""A metric's PromQL, validated by the only judge that counts: Prometheus runs it."""

from __future__ import annotations

from django.conf import settings

from integrations import prometheus


def check_promql(query: str) -> str | None:
    """Prometheus's own verdict on a query: None when it ran, else the message to show."""
    result = prometheus.instant_query(query)
    if result.failure == prometheus.QueryFailure.REJECTED:
        return f"Prometheus rejected this query: {result.reason}"
    if not result.is_ok:
        return (
            f"The query could not be checked because Prometheus at {settings.PROMETHEUS_URL} "
            f"did not answer ({result.failure}: {result.reason}). Try again when it is back."
        )
    return None
