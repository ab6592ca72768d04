"""`STACK_REPLICAS=2 make run`: two web processes behind a round-robin HAProxy, two workers, two
beats, two Prometheus replicas scraping the same targets and two peered Alertmanagers, so that
any one can be killed while the panel carries on.

The configuration is checked by the real tools (haproxy, promtool, amtool). Then one replicated
stack runs for the module (`python -m stack setup` and `run` with the processes these tests
need, on free ports in a temporary VAR_DIR): a signed-in user keeps working through the proxy
while web-1 is killed; with prometheus-a stopped the checks keep their real states from b and
the pages name a as down; with alertmanager-a stopped, b still delivers to the panel's webhook
and silences are made and read through b. Each test waits for conditions, never a fixed time.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from django.core.cache import cache
from django.core.management import call_command

from alerts.models import Check
from alerts.tasks import run_cycle
from core.choices import State
from health.checks import record_heartbeat
from integrations import alertmanager, prometheus
from stack import configuration, environment, programs, run
from tests import services
from tests.helpers import REPO, clean_env
from tests.stack.helpers import RunningStack, port_env, running_stack, wait_for


def django_settings_engine() -> str:
    from django.conf import settings as django_settings

    return str(django_settings.DATABASES["default"]["ENGINE"])


# Prometheus scrapes every 15 s; the stack's Alertmanager waits 10 s before a critical group's
# first notification, and a peer may wait its turn (15 s) after a lost one.
SLOW = 150
REPLICATED_NAMES = {
    "web-1",
    "web-2",
    "proxy",
    "worker-1",
    "worker-2",
    "beat-1",
    "beat-2",
    "redis",
    "prometheus-a",
    "prometheus-b",
    "alertmanager-a",
    "alertmanager-b",
    "node_exporter",
    "redis_exporter",
    "demo",
}


@pytest.fixture
def replicated_env(tmp_path, monkeypatch) -> dict[str, str]:
    """The stack's environment with STACK_REPLICAS=2 and every port free."""
    monkeypatch.setattr(environment, "VAR_DIR", tmp_path / "var")
    for name in ("PROMETHEUS_URL", "ALERTMANAGER_URL", "REDIS_URL", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STACK_REPLICAS", "2")
    for name, port in port_env().items():
        monkeypatch.setenv(name, port)
    return environment.stack_environment()


def _check(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _url(env: dict[str, str], port_env: str) -> str:
    return f"http://127.0.0.1:{env[port_env]}"


def test_it_runs_two_of_each_replicated_process(replicated_env):
    env = replicated_env
    assert set(environment.process_ports(2)) == REPLICATED_NAMES
    assert set(environment.processes({"STACK_REPLICAS": "2"})) == REPLICATED_NAMES
    assert list(programs.programs(env)) == list(environment.process_ports(2))
    ports = [int(env[p.env]) for p in environment.ports_in_use(2)]
    assert len(ports) == len(set(ports))
    listened = [p for name in REPLICATED_NAMES for p in environment.process_ports(2)[name]]
    assert sorted(listened) == sorted(p.env for p in environment.ports_in_use(2))
    commands = {name: program.command for name, program in programs.programs(env).items()}
    assert f"127.0.0.1:{env['WEB_1_PORT']}" in commands["web-1"]
    assert f"127.0.0.1:{env['WEB_2_PORT']}" in commands["web-2"]
    # Celery tells its workers apart by node name.
    assert "worker1@%h" in commands["worker-1"] and "worker2@%h" in commands["worker-2"]
    assert commands["beat-1"] == commands["beat-2"]  # the schedule lives in the database
    data = {name: [a for a in commands[name] if a.startswith("--storage")] for name in commands}
    assert data["prometheus-a"] != data["prometheus-b"]
    assert data["alertmanager-a"] != data["alertmanager-b"]


def test_it_keeps_the_plain_stack_with_one_replica(tmp_path, monkeypatch):
    monkeypatch.setattr(environment, "VAR_DIR", tmp_path / "var")
    for name in ("PROMETHEUS_URL", "ALERTMANAGER_URL", "STACK_REPLICAS"):
        monkeypatch.delenv(name, raising=False)
    env = environment.stack_environment()
    assert environment.process_ports(1) == environment.PROCESSES
    assert list(programs.programs(env)) == list(environment.PROCESSES)
    variables = environment.stack_variables()
    assert "STACK_REPLICAS" not in variables and "WEB_1_PORT" not in variables
    assert "," not in variables["PROMETHEUS_URL"] + variables["ALERTMANAGER_URL"]
    assert "--cluster.listen-address=" in programs.programs(env)["alertmanager"].command
    assert "replica" not in configuration.prometheus_config(env)["global"]["external_labels"]


def test_it_writes_a_proxy_config_that_haproxy_accepts(replicated_env):
    configuration.write_configuration(replicated_env)
    path = programs.proxy_config_path()
    _check(programs.programs(replicated_env)["proxy"].command[0], "-c", "-f", str(path))
    text = path.read_text()
    assert f"bind 127.0.0.1:{replicated_env['WEB_PORT']}" in text
    assert "balance roundrobin" in text and "option httpchk GET /health/db" in text
    servers = re.findall(r"^\s+server (\S+) 127\.0\.0\.1:(\d+) check", text, re.MULTILINE)
    assert servers == [
        ("web-1", replicated_env["WEB_1_PORT"]),
        ("web-2", replicated_env["WEB_2_PORT"]),
    ]


def test_it_writes_prometheus_replicas_that_promtool_accepts_scraping_the_same_targets(
    replicated_env,
):
    env = replicated_env
    configuration.write_configuration(env)
    configs = {}
    for letter in "ab":
        path = programs.prometheus_folder(letter) / "prometheus.yml"
        assert f"--config.file={path}" in programs.programs(env)[f"prometheus-{letter}"].command
        _check("promtool", "check", "config", str(path))
        configs[letter] = yaml.safe_load(path.read_text())
    a, b = configs["a"], configs["b"]
    assert a["global"]["external_labels"]["replica"] == "a"
    assert b["global"]["external_labels"]["replica"] == "b"
    assert a["scrape_configs"] == b["scrape_configs"] and a["rule_files"] == b["rule_files"]
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in a["scrape_configs"]}

    def targets(*port_envs: str) -> list[str]:
        return [f"127.0.0.1:{env[name]}" for name in port_envs]

    assert jobs["prometheus"] == targets("PROMETHEUS_PORT", "PROMETHEUS_B_PORT")
    # each web process's own metrics, not whichever the proxy picks
    assert jobs["controlpanel"] == targets("WEB_1_PORT", "WEB_2_PORT")
    peers = targets("ALERTMANAGER_PORT", "ALERTMANAGER_B_PORT")
    for config in (a, b):
        assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == peers
        # both replicas' copies of an alert are one alert to Alertmanager
        assert config["alerting"]["alert_relabel_configs"] == [
            {"action": "labeldrop", "regex": "replica"}
        ]


def test_it_peers_the_alertmanagers_with_each_other(replicated_env):
    env = replicated_env
    configuration.write_configuration(env)
    _check("amtool", "check-config", str(environment.VAR_DIR / "alertmanager" / "alertmanager.yml"))
    commands = {name: program.command for name, program in programs.programs(env).items()}
    gossip = {"a": env["ALERTMANAGER_CLUSTER_PORT"], "b": env["ALERTMANAGER_B_CLUSTER_PORT"]}
    for own, other in (("a", "b"), ("b", "a")):
        command = commands[f"alertmanager-{own}"]
        assert f"--cluster.listen-address=127.0.0.1:{gossip[own]}" in command
        assert [a for a in command if a.startswith("--cluster.peer=")] == [
            f"--cluster.peer=127.0.0.1:{gossip[other]}"
        ]


def test_it_gives_the_panel_every_replica(replicated_env, monkeypatch):
    env = replicated_env
    prometheus_urls = f"{_url(env, 'PROMETHEUS_PORT')},{_url(env, 'PROMETHEUS_B_PORT')}"
    alertmanager_urls = f"{_url(env, 'ALERTMANAGER_PORT')},{_url(env, 'ALERTMANAGER_B_PORT')}"
    assert env["PROMETHEUS_URL"] == prometheus_urls
    assert env["ALERTMANAGER_URL"] == alertmanager_urls
    assert env["PANEL_URL"] == _url(env, "WEB_PORT")  # the proxy: the address is unchanged
    configuration.write_configuration(env)
    stack_env = environment.env_file_path().read_text()
    assert f"PROMETHEUS_URL={prometheus_urls}\n" in stack_env
    assert f"ALERTMANAGER_URL={alertmanager_urls}\n" in stack_env
    assert "STACK_REPLICAS=2\n" in stack_env
    # the panel takes them as replicas and peers, each asked on its own
    assert prometheus.replicas(prometheus_urls) == prometheus_urls.split(",")
    assert alertmanager.peers(alertmanager_urls) == alertmanager_urls.split(",")


@pytest.mark.parametrize("value", ["5", "0", "x", "2.5", "-1"])
def test_it_refuses_a_replica_count_it_cannot_run(value, monkeypatch):
    monkeypatch.setenv("STACK_REPLICAS", value)
    refused = rf"STACK_REPLICAS='{re.escape(value)}' is not a number of replicas from 1 to 4"
    with pytest.raises(SystemExit, match=refused):
        environment.stack_variables()


def test_it_says_so_before_starting_anything(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "stack", "run"],
        env=clean_env(VAR_DIR=str(tmp_path / "var"), STACK_REPLICAS="5"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "STACK_REPLICAS='5' is not a number of replicas from 1 to 4" in result.stderr
    assert not (tmp_path / "var" / "supervisor").exists()


def test_it_refuses_two_variables_naming_one_port(replicated_env, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_B_PORT", replicated_env["WEB_2_PORT"])
    with pytest.raises(SystemExit, match="WEB_2_PORT and PROMETHEUS_B_PORT are both"):
        environment.stack_variables()


def test_it_names_a_taken_replica_port_and_the_variable_that_moves_it(replicated_env):
    env = replicated_env
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(env["ALERTMANAGER_B_CLUSTER_PORT"])))
        squatter.listen()
        taken = run.taken_ports(env, list(environment.process_ports(2)))
    assert [p.env for p in taken] == ["ALERTMANAGER_B_CLUSTER_PORT"]
    message = run.port_taken_message(taken, env)
    number = int(env["ALERTMANAGER_B_CLUSTER_PORT"])
    assert f"port {number} for alertmanager-b's cluster gossip is taken" in message
    assert f"ALERTMANAGER_B_CLUSTER_PORT={number + 10000} make run" in message


def test_a_replica_new_beside_an_older_history_is_given_all_of_it(replicated_env):
    """A var/ first run with one replica, then with two: prometheus-b has never run, so every
    block a holds (the history of the earlier runs) is given to it, not only the new ones."""
    b = environment.VAR_DIR / "prometheus-b" / "data"
    assert run.new_replicas(replicated_env) == [b]
    (b / "wal").mkdir(parents=True)  # it ran once: its own data begins then
    assert run.new_replicas(replicated_env) == []


def test_it_gives_prometheus_b_the_demo_history_written_for_a(tmp_path):
    a, b = tmp_path / "prometheus" / "data", tmp_path / "prometheus-b" / "data"
    for name in ("01OLDBLOCK", "01NEWBLOCK"):
        (a / name / "chunks").mkdir(parents=True)
        (a / name / "meta.json").write_text("{}")
        (a / name / "chunks" / "000001").write_bytes(b"samples")
    (a / "wal").mkdir()
    written = run.tsdb_blocks(a) - {"01OLDBLOCK"}
    assert written == {"01NEWBLOCK"}
    assert "shared 1 history blocks" in run.share_blocks(a, written, [b])
    assert run.tsdb_blocks(b) == {"01NEWBLOCK"} and sorted(p.name for p in b.iterdir()) == [
        "01NEWBLOCK"
    ]
    chunk = "01NEWBLOCK/chunks/000001"
    assert (b / chunk).stat().st_ino == (a / chunk).stat().st_ino  # a link, not a copy
    assert "shared 0 history blocks" in run.share_blocks(a, written, [b])  # once


# --- one running replicated stack for the tests below -----------------------------------------

RUNNING = [
    "web-1",
    "web-2",
    "proxy",
    "redis",
    "prometheus-a",
    "prometheus-b",
    "alertmanager-a",
    "alertmanager-b",
    "node_exporter",
]


@pytest.fixture(scope="module")
def replicated(tmp_path_factory) -> Iterator[RunningStack]:
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        running_stack(
            tmp_path_factory.mktemp("replicated"),
            monkeypatch,
            RUNNING,
            extra_env={"STACK_REPLICAS": "2"},
            setup=True,
            # the stack itself waits this long for its first start on a busy machine
            timeout=run.FIRST_START_TIMEOUT + 60,
        ) as stack,
    ):
        yield stack


def ctl(stack: RunningStack, *args: str) -> str:
    result = stack.supervisor.ctl(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def panel(stack: RunningStack) -> str:
    return f"http://127.0.0.1:{stack.port('proxy')}"


def signed_in(stack: RunningStack, username: str = "sre") -> requests.Session:
    """A browser's session through the proxy, signed in as a demo user."""
    session = requests.Session()
    login = f"{panel(stack)}/accounts/login/"
    pages: list[requests.Response] = []

    def answered() -> bool:
        pages[:] = [session.get(login, timeout=30)]
        return pages[0].status_code == 200

    # Right after the start a replica the proxy has not yet seen healthy answers 503.
    wait_for(answered, what="the login page through the proxy")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', pages[0].text)
    assert token, pages[0].text[:2000]
    answer = session.post(
        login,
        data={
            "username": username,
            "password": stack.env.get("DEMO_PASSWORD", "leanvibe-demo"),
            "csrfmiddlewaretoken": token.group(1),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/", answer.text[:2000]
    return session


def home(session: requests.Session, stack: RunningStack) -> requests.Response:
    return session.get(f"{panel(stack)}/", allow_redirects=False, timeout=30)


def is_signed_in(answer: requests.Response, username: str = "sre") -> bool:
    return answer.status_code == 200 and f'data-testid="username">{username}</span>' in answer.text


def served(stack: RunningStack, name: str) -> int:
    """How many pages (not health checks) the web replica ``name`` has served."""
    log = Path(stack.env["VAR_DIR"]) / "log" / f"{name}.log"
    return log.read_text(errors="replace").count('"GET / HTTP/1.1" 200')


# The module's stack is shared: these tests share pytest-django's group (transactional) too,
# so that it starts once.
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_it_prints_every_replica_and_how_to_stop_one(replicated):
    table = replicated.output().split("=" * 72)[1]
    for name in RUNNING:
        assert re.search(rf"^\s+{name}\s+RUNNING\s+\d+\s+\d+ up", table, re.MULTILINE), table
    assert f"behind the round-robin proxy at {panel(replicated)}" in table
    assert "stop apps:web-1" in table and "services:prometheus-a" in table
    assert "services:alertmanager-a" in table


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_signed_in_user_stays_signed_in_when_a_web_process_is_killed(replicated):
    session = signed_in(replicated)
    # round robin: both replicas serve the session
    wait_for(
        lambda: (
            is_signed_in(home(session, replicated))
            and served(replicated, "web-1") > 0
            and served(replicated, "web-2") > 0
        ),
        what="both web replicas to serve the signed-in user",
    )
    killed = replicated.pid("web-1")
    assert killed is not None
    os.killpg(killed, signal.SIGKILL)  # gunicorn's master and its worker, mid-session
    answers = [home(session, replicated) for _ in range(20)]
    assert [a.status_code for a in answers] == [200] * 20
    assert all(is_signed_in(a) for a in answers)
    # the proxy names who answered: web-2 served every one web-1 could not
    by = [a.headers.get("X-Served-By") for a in answers]
    assert by.count("web-2") >= 10 and set(by) <= {"web-1", "web-2"}, by

    # supervisord starts web-1 again, the proxy's health check takes it back, and the session
    # is the same there: it lives in the database.
    wait_for(
        lambda: replicated.pid("web-1") not in (None, killed),
        what="supervisord to start web-1 again",
    )
    by_web_1 = served(replicated, "web-1")
    wait_for(
        lambda: is_signed_in(home(session, replicated)) and served(replicated, "web-1") > by_web_1,
        what="the restarted web-1 to serve the signed-in user",
    )
    assert "exited: web-1 (terminated by SIGKILL; not expected)" in replicated.output()


METRIC = "node_memory"


def evaluate() -> dict[str, str]:
    """One round of the schedule (heartbeat, evaluation): the metric's checks and states."""
    record_heartbeat()
    run_cycle()
    return {c.signature: c.state for c in Check.objects.filter(threshold__metric__key=METRIC)}


def has_data(url: str) -> bool:
    query = urllib.parse.urlencode({"query": 'up{job="node"} == 1'})
    try:
        answer = requests.get(f"{url}/api/v1/query?{query}", timeout=5)
        return bool(answer.json()["data"]["result"])
    except (requests.RequestException, ValueError, KeyError):
        return False


def banner(client) -> str:
    cache.clear()  # the Prometheus probe is cached for a few seconds between pages
    page = client.get("/").content.decode()
    found = re.search(r'data-testid="health-banner">(.*?)</div>', page, re.DOTALL)
    return found.group(1) if found else ""


def both_replicas(
    replicated: RunningStack, settings, program: str, setting: str, client: Any
) -> Iterator[tuple[str, str]]:
    """The panel pointed at replicas a and b of ``program`` (``setting`` lists both), with
    ``client``'s memory of a replica found down forgotten before and after."""
    a, b = (f"http://127.0.0.1:{replicated.port(f'{program}-{x}')}" for x in "ab")
    setattr(settings, setting, f"{a},{b}")
    client.asking_order.clear()
    yield a, b
    client.asking_order.clear()


@pytest.fixture
def both_prometheus(replicated, settings) -> Iterator[tuple[str, str]]:
    yield from both_replicas(replicated, settings, "prometheus", "PROMETHEUS_URL", prometheus)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_with_prometheus_a_stopped_the_checks_keep_their_real_states_from_b(
    replicated, both_prometheus, sre_client
):
    a, b = both_prometheus
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    wait_for(lambda: has_data(a) and has_data(b), SLOW, "both replicas to scrape node_exporter")
    before: dict[str, str] = {}

    def evaluated() -> bool:
        before.clear()
        before.update(evaluate())
        return bool(before) and not {State.ERROR, State.NO_DATA} & set(before.values())

    wait_for(evaluated, SLOW, "node memory evaluated from the replicas")
    assert "is not answering" not in banner(sre_client)

    ctl(replicated, "stop", "services:prometheus-a")
    try:
        assert not services.tcp_open(replicated.port("prometheus-a"))
        assert evaluate() == before  # real states, from b: not error
        assert f"Prometheus replica {a} is not answering" in banner(sre_client)
        health = sre_client.get("/health").json()["prometheus"]
        assert health["is_reachable"] is True
        assert [down["url"] for down in health["replicas_down"]] == [a]
        # The stack's own web processes say the same on every page, through the proxy.
        session = signed_in(replicated, "sre2")
        wait_for(
            lambda: f"Prometheus replica {a} is not answering" in home(session, replicated).text,
            SLOW,
            "the panel's banner to name replica a",
        )
    finally:
        ctl(replicated, "start", "services:prometheus-a")


@pytest.fixture
def both_alertmanagers(replicated, settings) -> Iterator[tuple[str, str]]:
    yield from both_replicas(replicated, settings, "alertmanager", "ALERTMANAGER_URL", alertmanager)


def silence(comment: str) -> str:
    now = datetime.now(UTC)
    return alertmanager.create_silence(
        [alertmanager.Matcher("alertname", "ReplicaDrill")],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="sre",
        comment=comment,
    )


def listed(silence_id: str, url: str | None = None) -> bool:
    try:
        return any(s.id == silence_id for s in alertmanager.list_silences(url=url))
    except alertmanager.AlertmanagerError:
        return False


def webhook_deliveries(stack: RunningStack) -> int:
    """Deliveries the panel's webhook accepted, on either web replica."""
    return sum(
        log.read_text(errors="replace").count('"POST /api/alertmanager/webhook HTTP/1.1" 200')
        for log in (Path(stack.env["VAR_DIR"]) / "log").glob("web-*.log")
    )


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_with_alertmanager_a_stopped_the_webhook_and_silences_keep_working(
    replicated, both_alertmanagers
):
    a, b = both_alertmanagers
    wait_for(
        lambda: services.http_ok(f"{a}/-/ready") and services.http_ok(f"{b}/-/ready"),
        SLOW,
        "both peers ready",
    )
    before = silence("made while both peers run")
    wait_for(lambda: listed(before, b), SLOW, "the silence to reach peer b by gossip")

    ctl(replicated, "stop", "services:alertmanager-a")
    try:
        assert not services.tcp_open(replicated.port("alertmanager-a"))
        assert listed(before)  # read through b
        during = silence("made with peer a down")  # written to b, the peer that answers
        assert alertmanager.get_silence(during, url=b).comment == "made with peer a down"
        assert [url for url, _ in alertmanager.peers_down()] == [a]

        # Prometheus sends every alert to every peer; only b is left to deliver it.
        alert = {
            "labels": {"alertname": "ReplicaDrillFiring", "severity": "critical"},
            "annotations": {"summary": "peer a is down; b delivers"},
            "startsAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        }
        services.post_alerts(b, [alert])
        session = signed_in(replicated)

        def on_the_firing_list() -> bool:
            page = session.get(f"{panel(replicated)}/alerts/", timeout=30).text
            return "ReplicaDrillFiring" in page and "peer a is down; b delivers" in page

        wait_for(on_the_firing_list, SLOW, "peer b's delivery on the firing list")
        assert webhook_deliveries(replicated) > 0
    finally:
        ctl(replicated, "start", "services:alertmanager-a")


# --- two beats and two workers on one PostgreSQL database -------------------------------------

INTERVAL = 5  # EVALUATION_INTERVAL's least: five ticks in about 25 s
REFUSED = "evaluate-thresholds: this tick is another host's"


@pytest.fixture
def stack_database() -> Iterator[str]:
    """A database of its own on the test run's PostgreSQL server, for the stack's processes."""
    import psycopg
    from django.conf import settings as django_settings

    db = django_settings.DATABASES["default"]
    server = {
        "host": db["HOST"] or "127.0.0.1",
        "port": int(db["PORT"] or 5432),
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
    }
    name = f"stack_replicas_{os.getpid()}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{urllib.parse.quote(server['password'])}" if server["password"] else ""
    yield f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _query(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.services
@pytest.mark.skipif(
    django_settings_engine().endswith("sqlite3"),
    # SQLite runs each write transaction alone: two workers' claims cannot race there, and the
    # test could not fail; on PostgreSQL (CI runs it) they do.
    reason="the race needs concurrent writers (PostgreSQL)",
)
def test_two_beats_and_two_workers_run_each_evaluation_tick_once(
    tmp_path, monkeypatch, stack_database
):
    names = ["worker-1", "worker-2", "beat-1", "beat-2", "redis"]
    names += ["prometheus-a", "prometheus-b", "node_exporter"]
    extra = {
        "STACK_REPLICAS": "2",
        "DATABASE_URL": stack_database,
        "EVALUATION_INTERVAL": str(INTERVAL),
    }
    with running_stack(
        tmp_path,
        monkeypatch,
        names,
        extra_env=extra,
        setup=True,
        timeout=run.FIRST_START_TIMEOUT + 60,
    ) as stack:
        slot_sql = "SELECT slot, claimed_at FROM health_taskslot WHERE task = 'evaluate-thresholds'"
        seen: dict[int, set[object]] = {}

        def watched_ticks() -> bool:
            for slot, claimed_at in _query(stack_database, slot_sql):
                if slot >= 0:
                    seen.setdefault(slot, set()).add(claimed_at)
            return len(seen) >= 5

        wait_for(watched_ticks, SLOW, "five evaluation ticks")
        # What the claim promises whatever the two beats' phase: two claims are at least half
        # an interval apart (two beats a few seconds out of phase may each claim within one
        # slot's span, and then neither claims the next: about one cycle an interval).
        claims = sorted(c for each in seen.values() for c in each)
        gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(claims)]
        assert all(gap >= INTERVAL / 2 for gap in gaps), claims
        # both beats send every tick: the second messages were refused
        wait_for(
            lambda: (
                sum(
                    log.read_text(errors="replace").count(REFUSED)
                    for log in (Path(stack.env["VAR_DIR"]) / "log").glob("worker-*.log")
                )
                > 0
            ),
            SLOW,
            "a worker to refuse the second beat's message",
        )
        assert {stack.statuses()[name].state for name in names} == {"RUNNING"}

    changes = _query(
        stack_database,
        "SELECT check_id, from_state, to_state FROM alerts_statechange ORDER BY check_id, at, id",
    )
    assert changes, "no check changed state: the test saw no evaluation"
    by_check: dict[int, list[tuple[str, str]]] = {}
    for check_id, from_state, to_state in changes:
        by_check.setdefault(check_id, []).append((from_state, to_state))
    for check_id, chain in by_check.items():
        # a tick evaluated twice records the same change twice: the chain breaks
        assert all(earlier[1] == later[0] for earlier, later in itertools.pairwise(chain)), (
            check_id,
            chain,
        )
