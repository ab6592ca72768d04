"""The workload's cache traffic against a real Redis: the hits, misses and memory that the
real redis_exporter reports are Redis's own."""

from __future__ import annotations

import time

import pytest
import redis

from demo import workload
from tests import services

pytestmark = pytest.mark.services


@pytest.fixture
def cache_redis(tmp_path):
    server = services.redis(tmp_path).start()
    client = redis.Redis.from_url(server.url)
    client.config_set("maxmemory", 24 * 2**20)
    client.config_set("maxmemory-policy", "volatile-lru")
    yield server, client
    server.stop()


@pytest.fixture
def traffic(cache_redis, tmp_path):
    server, _ = cache_redis
    env = workload.DemoEnvironment(tmp_path / "state.json")
    cache = workload.CacheTraffic(server.url.replace("/0", "/2"), env)
    cache._warm()
    yield env, cache
    env.stop()


def hit_ratio(client: redis.Redis, ticks: int, cache: workload.CacheTraffic) -> float:
    before = client.info("stats")
    for _ in range(ticks):
        cache._tick()
    after = client.info("stats")
    hits = after["keyspace_hits"] - before["keyspace_hits"]
    misses = after["keyspace_misses"] - before["keyspace_misses"]
    return hits / (hits + misses)


def test_it_keeps_the_hit_ratio_above_the_warning_threshold(cache_redis, traffic):
    _, client = cache_redis
    _, cache = traffic
    assert hit_ratio(client, 60, cache) > 0.9


def test_it_degrades_the_hit_ratio_during_cache_degraded(cache_redis, traffic):
    _, client = cache_redis
    env, cache = traffic
    env.start_scenario("cache_degraded", 5, {})
    assert hit_ratio(client, 60, cache) < 0.7


def test_it_loses_hits_after_flushdb_and_recovers_as_the_cache_warms(cache_redis, traffic):
    _, client = cache_redis
    _, cache = traffic
    client.execute_command("SELECT", 2)
    cache.client.flushdb()
    right_after = hit_ratio(client, 40, cache)
    assert right_after < 0.85
    later = hit_ratio(client, 600, cache)
    assert later > right_after


def test_it_presses_memory_past_80_percent_and_releases_it_afterwards(cache_redis, traffic):
    _, client = cache_redis
    env, cache = traffic
    scenario = env.start_scenario("redis_memory_pressure", 5, {})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        cache._tick()
        memory = client.info("memory")
        if memory["used_memory"] > 0.8 * memory["maxmemory"]:
            break
    assert memory["used_memory"] > 0.8 * memory["maxmemory"]
    env.scenarios.end(scenario["id"], now=time.time())
    cache._tick()
    memory = client.info("memory")
    assert memory["used_memory"] < 0.5 * memory["maxmemory"]
