"""The Prometheus client against a real Prometheus, and against servers that fail on purpose."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations import prometheus
from integrations.prometheus import QueryFailure
from tests.services import free_port

pytestmark = pytest.mark.services


def test_it_returns_samples_with_their_labels(prometheus_server):
    result = prometheus.instant_query(
        'label_replace(vector(2.5), "tier", "team", "", "")', url=prometheus_server.url
    )
    assert result.is_ok
    assert [(s.labels, s.value) for s in result.samples] == [({"tier": "team"}, 2.5)]


def test_it_tells_an_empty_answer_from_a_failure(prometheus_server):
    result = prometheus.instant_query("no_such_metric_anywhere", url=prometheus_server.url)
    assert result.is_ok and result.samples == ()


def test_it_says_why_prometheus_rejected_a_query(prometheus_server):
    result = prometheus.instant_query("sum(rate(x[5m])", url=prometheus_server.url)
    assert result.failure == QueryFailure.REJECTED
    assert "parse error" in result.reason


def test_it_evaluates_at_a_past_time(prometheus_server):
    at = time.time() - 3600
    result = prometheus.instant_query("time()", at=at, url=prometheus_server.url)
    assert result.samples[0].value == pytest.approx(at, abs=0.01)


def test_it_calls_a_closed_port_unreachable():
    result = prometheus.instant_query("vector(1)", url=f"http://127.0.0.1:{free_port()}")
    assert (result.failure, result.reason) == (QueryFailure.UNREACHABLE, "connection refused")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_it_gives_up_after_the_timeout(silent_server):
    result = prometheus.instant_query("vector(1)", url=silent_server, timeout=0.3)
    assert (result.failure, result.reason) == (QueryFailure.TIMEOUT, "no answer within 0.3s")


@pytest.fixture
def slow_prometheus() -> Iterator[str]:
    """Answers every query after half a second, like a loaded Prometheus."""

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, *args):
            return

        def do_GET(self):
            time.sleep(0.5)
            body = json.dumps(
                {
                    "status": "success",
                    "data": {
                        "resultType": "vector",
                        "result": [{"metric": {}, "value": [time.time(), "1"]}],
                    },
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def test_it_runs_distinct_queries_in_parallel(slow_prometheus):
    jobs = [(f"vector({i})", None) for i in range(8)] + [("vector(0)", None)]
    started = time.perf_counter()
    results = prometheus.instant_queries(jobs, url=slow_prometheus, timeout=5)
    elapsed = time.perf_counter() - started
    assert len(results) == 8  # the repeated query ran once
    assert all(r.is_ok for r in results.values())
    assert elapsed < 3.5  # one after another they would take 4 s (0.5 s each)


def test_it_runs_nested_parallel_calls_on_the_calling_thread(monkeypatch):
    """Every query thread busy with a call that itself asks for parallel calls (a backtest's
    jobs in pieces, four admins at once): the inner calls must not queue behind the outer
    ones, or each waits forever for the others."""
    monkeypatch.setattr(prometheus, "POOL_THREADS", 2)
    monkeypatch.setattr(prometheus, "_pools", {})

    def outer(n: int) -> list[int]:
        return prometheus.parallel([lambda i=i: n * 10 + i for i in range(3)])

    results: list = []
    caller = threading.Thread(
        target=lambda: results.append(
            prometheus.parallel([lambda n=n: outer(n) for n in range(4)])
        ),
        daemon=True,
    )
    caller.start()
    try:
        caller.join(timeout=10)
        assert not caller.is_alive(), "nested parallel calls waited for each other"
        assert results == [[[0, 1, 2], [10, 11, 12], [20, 21, 22], [30, 31, 32]]]
    finally:
        # cancelling what is still queued frees threads stuck on it, so a failure here is
        # reported instead of hanging the run at exit
        for pool in prometheus._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
