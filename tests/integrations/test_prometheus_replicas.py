"""Prometheus HA: PROMETHEUS_URL names several replicas; a query goes to one that answers, the
skipped one is logged with why and asked last for a while, a check is an error only when none
answers, and the banner and /health say which replica is down."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from health import checks as health
from integrations import prometheus
from tests import services


@pytest.fixture(autouse=True)
def fresh_order():
    prometheus.asking_order.clear()
    yield
    prometheus.asking_order.clear()


@pytest.fixture
def dead() -> str:
    return f"http://127.0.0.1:{services.free_port()}"


def test_it_splits_the_replicas_at_commas(settings):
    settings.PROMETHEUS_URL = "http://a:9090, http://b:9090/"
    assert prometheus.replicas() == ["http://a:9090", "http://b:9090"]
    assert prometheus.replicas("http://c:9090") == ["http://c:9090"]


def test_a_query_goes_to_the_replica_that_answers_and_says_why_it_skipped_one(
    settings, prometheus_server, dead, monkeypatch
):
    settings.PROMETHEUS_URL = f"{dead},{prometheus_server.url}"
    warned: list[str] = []
    monkeypatch.setattr(prometheus.log, "warning", lambda msg, *args: warned.append(msg % args))
    result = prometheus.instant_query("vector(7)")
    assert result.is_ok and result.samples[0].value == 7
    assert len(warned) == 1 and dead in warned[0] and "connection refused" in warned[0]
    # the failed replica is asked last for a while: the next query costs no detour
    assert prometheus.asking_order.order(prometheus.replicas()) == [prometheus_server.url, dead]
    assert prometheus.instant_query("vector(8)").is_ok and len(warned) == 1


def test_a_range_query_fails_over_too(settings, prometheus_server, dead):
    settings.PROMETHEUS_URL = f"{dead},{prometheus_server.url}"
    result = prometheus.range_query("vector(1)", 1_000_000, 1_000_060, 15, cache_seconds=0)
    assert result.is_ok and result.series


def test_a_bad_query_is_not_retried_on_the_other_replica(settings, prometheus_server):
    settings.PROMETHEUS_URL = f"{prometheus_server.url},{prometheus_server.url}"
    result = prometheus.instant_query("sum(")
    assert result.failure == prometheus.QueryFailure.REJECTED
    assert prometheus.asking_order.down(prometheus.replicas()) == []


def test_it_is_an_error_only_when_no_replica_answers(settings):
    dead, other = (f"http://127.0.0.1:{port}" for port in services.free_ports(2))
    settings.PROMETHEUS_URL = f"{dead},{other}"
    result = prometheus.instant_query("vector(1)")
    assert result.failure == prometheus.QueryFailure.UNREACHABLE
    assert result.reason.startswith("no replica answered") and dead in result.reason
    assert other in result.reason


@pytest.mark.django_db
def test_the_banner_and_health_say_which_replica_is_down(settings, prometheus_server, dead, client):
    settings.PROMETHEUS_URL = f"{prometheus_server.url},{dead}"
    reach = prometheus.check_reachable()
    assert reach.is_reachable and [base for base, _ in reach.down] == [dead]
    found = health.problems()
    assert any(f"Prometheus replica {dead} is not answering" in line for line in found)
    assert not any("Prometheus at" in line for line in found)
    body = client.get("/health").json()["prometheus"]
    assert body["is_reachable"] is True and body["replicas_down"][0]["url"] == dead


@pytest.fixture
def hanging():
    """A 'Prometheus' that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", held
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def test_a_hanging_replica_leaves_the_page_time_for_the_next(settings, prometheus_server, hanging):
    url, connections = hanging
    settings.PROMETHEUS_URL = f"{url},{prometheus_server.url}"
    with prometheus.deadline(1.8):
        result = prometheus.instant_query("vector(3)")
    assert result.is_ok and result.samples[0].value == 3
    deadline = time.monotonic() + 10
    while not connections and time.monotonic() < deadline:  # the accept thread's turn
        time.sleep(0.05)
    asked = len(connections)
    assert asked == 1
    # asked last from now on: the next page does not wait for it, and the probe names it
    # down without asking it again
    with prometheus.deadline(1.8):
        reach = prometheus.check_reachable()
        assert prometheus.instant_query("vector(4)").is_ok
    assert len(connections) == asked
    assert reach.is_reachable and [base for base, _ in reach.down] == [url]
