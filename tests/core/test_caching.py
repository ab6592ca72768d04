"""A shared cache that is down (Redis killed or restarting) costs only the caching: reads miss,
writes are dropped, and the pages that cache answer as they would uncached."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

from core import caching
from tests.services import free_port


@pytest.fixture
def dead_redis(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }


def test_it_misses_and_drops_when_the_cache_is_down(dead_redis, monkeypatch):
    # The module's own logger, not caplog: a test that configures logging again (Celery's
    # worker does) disables loggers that existed before it, and caplog then hears nothing.
    said: list[str] = []
    monkeypatch.setattr(caching.log, "warning", lambda message, *args, **kw: said.append(message))
    caching.put("k", "v", 30)
    assert caching.get("k") is None
    assert len(said) == 2 and all(m.startswith("cache unavailable") for m in said)


@pytest.mark.django_db
def test_a_dashboard_answers_with_the_cache_down(dead_redis, sre_client, settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    response = sre_client.get("/d/leanvibe-overview")
    assert response.status_code == 200
    assert 'data-testid="chart-error"' in response.content.decode()


def test_one_caller_claims_the_work_and_the_others_wait_for_its_answer():
    import threading

    from django.core.cache import cache

    cache.clear()
    calls: list[int] = []
    started = threading.Event()

    def slow() -> str:
        calls.append(1)
        started.set()
        threading.Event().wait(0.3)  # the work itself, not a wait for a condition
        return "charts"

    answers: list[str] = []
    first = threading.Thread(target=lambda: answers.append(caching.shared("k", 30, slow)))
    first.start()
    assert started.wait(5)
    answers.append(caching.shared("k", 30, slow, wait=5))  # claimed elsewhere: it waits
    first.join()
    assert answers == ["charts", "charts"] and len(calls) == 1


def test_a_caller_that_waited_too_long_does_the_work_itself():
    from django.core.cache import cache

    cache.clear()
    assert caching.claim("k2:claim", 30)  # someone claimed it and never answers
    assert caching.shared("k2", 30, lambda: "mine", wait=0.1) == "mine"


def test_with_the_cache_down_everyone_may_claim(dead_redis):
    assert caching.claim("k3", 30) and caching.claim("k3", 30)
