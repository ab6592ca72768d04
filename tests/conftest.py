"""Fixtures shared by every test: the personas and the real servers.

Personas: an SRE, a second SRE, a business user, an administrator and an anonymous client.
Servers: session-scoped Prometheus, Alertmanager and Redis processes on free ports with
temporary data directories (see ``tests/services.py``).
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import yaml
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client

from controlpanel.roles import ensure_roles
from core.permissions import Role
from tests import services
from tests.factories import make_user

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """SQLite's test database in a file, as the stack runs it (WAL, a busy timeout), not in
    memory: Django hands an in-memory database's one connection to every live-server thread,
    and two requests at once on it fail with "database table is locked" (a page and the
    runbook probe it sends to /health, a browser's parallel requests)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        folder = tmp_path_factory.mktemp("database")
        database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's million rounds cost ~0.4 s per user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def roles(db: None) -> None:
    ensure_roles()


@pytest.fixture
def sre(roles: None):
    return make_user("sre", Role.SRE, password=PASSWORD)


@pytest.fixture
def sre2(roles: None):
    return make_user("sre2", Role.SRE, password=PASSWORD)


@pytest.fixture
def business(roles: None):
    return make_user("business", Role.BUSINESS, password=PASSWORD)


@pytest.fixture
def admin_user(roles: None):
    """Overrides pytest-django's, so its ``admin_client`` logs in as this administrator."""
    user = make_user("admin", Role.SRE, password=PASSWORD)
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def anonymous_client() -> Client:
    return Client()


@pytest.fixture
def sre_client(sre) -> Client:
    return _client_for(sre)


@pytest.fixture
def sre2_client(sre2) -> Client:
    return _client_for(sre2)


@pytest.fixture
def business_client(business) -> Client:
    return _client_for(business)


@pytest.fixture
def role_groups(roles: None) -> dict[str, Group]:
    return {g.name: g for g in Group.objects.all()}


# --- real servers ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.Service]:
    service = services.prometheus(tmp_path_factory.mktemp("prometheus")).start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def alertmanager_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.Service]:
    config = "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"
    service = services.alertmanager(tmp_path_factory.mktemp("alertmanager"), config).start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.Service]:
    service = services.redis(tmp_path_factory.mktemp("redis")).start()
    yield service
    service.stop()


@contextmanager
def running_demo(
    tmp: Path, extra_config: dict | None = None
) -> Iterator[tuple[object, services.Service]]:
    """The demo workload scraped every second by a real Prometheus, once rate() has two
    samples: (environment, Prometheus). ``extra_config`` is merged into prometheus.yml."""
    from demo import workload

    env = workload.DemoEnvironment(tmp / "state.json")
    port = services.free_port()
    server = workload.serve(env, "127.0.0.1", port)
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "demo",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
            }
        ],
        **(extra_config or {}),
    }
    prometheus = services.prometheus(tmp, yaml.safe_dump(config)).start()
    query = urllib.parse.urlencode({"query": "count_over_time(http_requests_total[1m])"})
    try:
        # Fail here, not in a later assert that makes no sense without data.
        deadline = time.monotonic() + 60
        while True:  # rate() needs two samples
            url = f"{prometheus.url}/api/v1/query?{query}"
            with urllib.request.urlopen(url, timeout=5) as response:
                result = json.load(response)["data"]["result"]
            if result and float(result[0]["value"][1]) >= 3:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"Prometheus had no demo samples within 60 s: {result}")
            time.sleep(0.5)
        yield env, prometheus
    finally:
        prometheus.stop()
        server.shutdown()
        env.stop()


@pytest.fixture(scope="session")
def demo_prometheus(tmp_path_factory):
    """The demo workload scraped every second by a real Prometheus: (environment, URL)."""
    with running_demo(tmp_path_factory.mktemp("cycle")) as (env, prometheus):
        yield env, prometheus.url


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def pytest_report_header(config: pytest.Config) -> str:
    from django.conf import settings

    database = settings.DATABASES["default"]
    return f"database: {database['ENGINE']} ({database['NAME']})"


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """The Celery app publishes to ``url`` (and keeps results there) for the block. Its
    connection pools and result backend are dropped on the way in and out: an earlier eager
    or published task leaves a pool bound to the broker of that moment, which a changed
    ``broker_url`` alone does not replace. The database is flushed on the way in: a message
    an earlier test left unconsumed there must not reach this block's worker."""
    from django.conf import settings

    from controlpanel.celery import app

    def use(broker: str, backend: str, *, shared: bool) -> None:
        app.conf.broker_url, app.conf.result_backend = broker, backend
        app._pool = None
        app.amqp._producer_pool = None
        # And the result backend (a chord's join counts on it), cached once used. Shared by
        # the threads for the block (a test worker's among them), so that on the way out the
        # subscriptions its chords made to their results can be closed and forgotten: else a
        # result collected later retries for 20 s against the stopped Redis.
        old = app._backend_cache
        consumer = getattr(old, "result_consumer", None)
        if consumer is not None and getattr(consumer, "_pubsub", None) is not None:
            consumer.stop()
            consumer._pubsub = None
            consumer.subscribed_to.clear()
        app.conf.result_backend_thread_safe = shared
        app._backend_cache = None
        vars(app._local).pop("backend", None)

    # Callers pass a test server's URL (a free port); never flush the developer's stack.
    if urllib.parse.urlsplit(url).port not in (None, 6379):
        redis.Redis.from_url(url).flushdb()
    use(url, url, shared=True)
    try:
        yield
    finally:
        use(settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND, shared=False)


# --- the demo at real cardinality --------------------------------------------------------

LARGE_PODS, LARGE_NODES = 1000, 100


def _instant_value(prometheus: services.Service, expr: str) -> float:
    url = f"{prometheus.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        result = json.load(response)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


@pytest.fixture(scope="session")
def large_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.Service]:
    """The demo at 1,000 backend pods and 100 nodes (DEMO_PODS, DEMO_NODES), scraped every
    2 s, once rate() has two samples of every pod (waited for, not slept on)."""
    from demo import workload
    from demo.model import ClusterSize

    tmp = tmp_path_factory.mktemp("cardinality")
    env = workload.DemoEnvironment(tmp / "state.json", size=ClusterSize(LARGE_PODS, LARGE_NODES))
    port = services.free_port()
    server = workload.serve(env, "127.0.0.1", port)
    config = {
        "global": {"scrape_interval": "2s", "scrape_timeout": "2s"},
        "scrape_configs": [
            {
                "job_name": "demo",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
            }
        ],
    }
    prometheus = services.prometheus(tmp, yaml.safe_dump(config)).start()
    try:
        deadline = time.monotonic() + 90
        expr = "count(count_over_time(container_cpu_usage_seconds_total[1m]) >= 2)"
        # Redis and Neo4j run one pod each beside the backend's
        while _instant_value(prometheus, expr) < LARGE_PODS + 2:
            assert time.monotonic() < deadline, "Prometheus did not hold two samples a pod"
            time.sleep(0.5)
        yield prometheus
    finally:
        prometheus.stop()
        server.shutdown()
        env.stop()
