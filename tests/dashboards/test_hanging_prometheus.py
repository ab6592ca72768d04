"""A Prometheus that hangs (SIGSTOP: it accepts connections and never answers) costs a page
one shared budget, not a timeout per call; the page says what it could not fetch. How long
the page takes is measured by bench/hanging_prometheus.py, not asserted here."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from integrations import prometheus
from tests import services

pytestmark = pytest.mark.services


@pytest.fixture
def hanging_prometheus(tmp_path, settings) -> Iterator[services.Service]:
    service = services.prometheus(tmp_path).start()
    settings.PROMETHEUS_URL = service.url
    os.kill(service.process.pid, signal.SIGSTOP)
    try:
        yield service
    finally:
        os.kill(service.process.pid, signal.SIGCONT)
        service.stop()


@pytest.mark.django_db
def test_it_answers_with_every_chart_saying_it_could_not_be_fetched(
    sre_client, hanging_prometheus, settings
):
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    settings.PAGE_PROMETHEUS_BUDGET = 1.0
    page = sre_client.get("/d/leanvibe-overview").content.decode()
    errors = page.count('data-testid="chart-error"')
    assert errors > 0 and errors == page.count('class="chart-card"')
    assert "could not be fetched from Prometheus" in page
    assert 'data-testid="health-banner"' in page  # the banner shares the spent budget


def test_it_shares_one_budget_between_calls_on_the_query_threads(hanging_prometheus):
    with prometheus.deadline(0.5):
        results = prometheus.parallel(
            [lambda: prometheus.instant_query("vector(1)", timeout=5) for _ in range(3)]
        )
        after = prometheus.instant_query("vector(2)", timeout=5)
    assert all(r.failure == prometheus.QueryFailure.TIMEOUT for r in results)
    assert after.failure == prometheus.QueryFailure.TIMEOUT
    assert after.reason == prometheus.BUDGET_SPENT  # asked nothing: no time was left
