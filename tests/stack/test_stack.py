"""The local stack behind `make run`: generated configuration that the real tools accept,
clear port conflicts, and a full start / kill / Ctrl-C cycle that leaves nothing listening."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from stack import configuration, environment, supervision
from tests import services
from tests.helpers import REPO, clean_env, run_manage
from tests.stack.helpers import is_alive, port_env, wait_for


def _env_with_free_ports(tmp_path, **extra: str) -> dict[str, str]:
    env = clean_env(VAR_DIR=str(tmp_path / "var"), DEMO_HISTORY_DAYS="0.5", **extra)
    env.update(port_env())
    return env


@pytest.fixture
def stack_env(tmp_path, monkeypatch):
    env = _env_with_free_ports(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(environment, "VAR_DIR", tmp_path / "var")
    return environment.stack_environment()


def test_it_writes_a_prometheus_config_that_promtool_accepts(stack_env):
    configuration.write_configuration(stack_env)
    path = environment.VAR_DIR / "prometheus" / "prometheus.yml"
    result = subprocess.run(
        ["promtool", "check", "config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(path.read_text())
    jobs = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert jobs == {
        "prometheus": [f"127.0.0.1:{stack_env['PROMETHEUS_PORT']}"],
        "alertmanager": [f"127.0.0.1:{stack_env['ALERTMANAGER_PORT']}"],
        "controlpanel": [f"127.0.0.1:{stack_env['WEB_PORT']}"],
        "node": [f"127.0.0.1:{stack_env['NODE_EXPORTER_PORT']}"],
        "redis": [f"127.0.0.1:{stack_env['REDIS_EXPORTER_PORT']}"],
        "demo": [f"127.0.0.1:{stack_env['DEMO_WORKLOAD_PORT']}"],
    }


def test_it_writes_an_alertmanager_config_that_amtool_accepts(stack_env):
    configuration.write_configuration(stack_env)
    path = environment.VAR_DIR / "alertmanager" / "alertmanager.yml"
    result = subprocess.run(
        ["amtool", "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    webhook = yaml.safe_load(path.read_text())["receivers"][0]["webhook_configs"][0]
    assert webhook["url"] == f"http://127.0.0.1:{stack_env['WEB_PORT']}/api/alertmanager/webhook"
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"


def test_it_adds_email_and_chat_receivers_when_configured(stack_env, tmp_path):
    env = {
        **stack_env,
        "ALERT_EMAIL_TO": "oncall@leanvibe.ai",
        "ALERT_SLACK_WEBHOOK_URL": "https://hooks.example.com/services/T0/B0/x",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": "587",
    }
    config = configuration.alertmanager_config(env)
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        ["amtool", "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    receivers = {r["name"]: r for r in config["receivers"]}
    routes = {r["matchers"][0]: r["receiver"] for r in config["route"]["routes"]}
    critical = receivers[routes['severity="critical"']]
    warning = receivers[routes['severity="warning"']]
    assert critical["email_configs"][0]["to"] == "oncall@leanvibe.ai"
    assert critical["email_configs"][0]["smarthost"] == "smtp.example.com:587"
    assert "email_configs" not in warning  # on-call is paged for critical only
    assert warning["slack_configs"] and critical["slack_configs"]
    assert all(r["webhook_configs"] for r in receivers.values())  # the panel hears everything
    assert config["inhibit_rules"][0]["source_matchers"] == ['severity="critical"']


def test_it_keeps_secrets_across_restarts(stack_env):
    first = (environment.VAR_DIR / "secrets" / "secret_key").read_text()
    again = environment.stack_environment()
    assert (environment.VAR_DIR / "secrets" / "secret_key").read_text() == first
    assert again["SECRET_KEY_FILE"] == stack_env["SECRET_KEY_FILE"]


def test_it_lets_the_user_override_any_variable(stack_env, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    assert (
        environment.stack_environment()["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/test"
    )


def test_it_refuses_a_port_that_is_not_a_number(monkeypatch):
    monkeypatch.setenv("PROMETHEUS_PORT", "90x")
    with pytest.raises(SystemExit, match="PROMETHEUS_PORT='90x' is not a TCP port"):
        environment.port("PROMETHEUS_PORT")


def test_it_names_the_taken_port_and_the_variable_that_moves_it(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        # The other ports are chosen while the squatter holds its own, so none of them is it.
        env = _env_with_free_ports(tmp_path)
        env["PROMETHEUS_PORT"] = str(squatter.getsockname()[1])
        result = subprocess.run(
            [sys.executable, "-m", "stack", "run"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    port = env["PROMETHEUS_PORT"]
    assert f"port {port} for Prometheus is taken" in result.stderr
    assert f"PROMETHEUS_PORT={int(port) + 10000} make run" in result.stderr


@pytest.mark.services
@pytest.mark.django_db
def test_it_has_prometheus_scrape_the_panels_own_metrics(stack_env, live_server, tmp_path):
    port = urllib.parse.urlsplit(live_server.url).port
    config = configuration.prometheus_config({**stack_env, "WEB_PORT": str(port)})
    config["global"]["scrape_interval"] = "1s"
    config["scrape_configs"] = [
        j for j in config["scrape_configs"] if j["job_name"] == "controlpanel"
    ]
    del config["rule_files"], config["alerting"]
    prometheus = services.prometheus(tmp_path, yaml.safe_dump(config)).start()
    try:
        query = urllib.parse.urlencode({"query": 'up{job="controlpanel"}'})
        # Wait for up == 1, not just any sample: under load the first scrape of the live
        # server can time out (1 s) and report up 0 before a later one succeeds.
        deadline = time.monotonic() + 60
        result = []
        while time.monotonic() < deadline:
            url = f"{prometheus.url}/api/v1/query?{query}"
            with urllib.request.urlopen(url, timeout=5) as response:
                result = json.load(response)["data"]["result"]
            if result and result[0]["value"][1] == "1":
                break
            time.sleep(0.3)
        assert result and result[0]["value"][1] == "1", result
    finally:
        prometheus.stop()


# Every metric name in the playbook's PromQL.
PLAYBOOK_METRICS = [
    "http_request_duration_seconds_bucket",
    "http_requests_total",
    "node_cpu_seconds_total",
    "container_cpu_usage_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "container_memory_usage_bytes",
    "container_spec_memory_limit_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "neo4j_bolt_connections_opened_total",
    "neo4j_bolt_connections_closed_total",
    "neo4j_cypher_queries_total",
    "redis_keyspace_hits_total",
    "redis_keyspace_misses_total",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "active_tenants_total",
    "monthly_recurring_revenue_usd",
    "tenant_cancellations_total",
    "tenant_signups_total",
    "feature_usage_total",
]


def _has_data(prometheus: str, name: str) -> bool:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': f'count({name})'})}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(json.load(response)["data"]["result"])
    except OSError:
        return False


def _listening(port: int) -> bool:
    return services.tcp_open(port)


@pytest.mark.services
def test_it_starts_the_whole_stack_restarts_a_killed_process_and_ctrl_c_stops_everything(
    tmp_path, monkeypatch
):
    env = _env_with_free_ports(tmp_path)
    monkeypatch.setattr(environment, "VAR_DIR", tmp_path / "var")
    setup = subprocess.run(
        [sys.executable, "-m", "stack", "setup"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert setup.returncode == 0, setup.stderr
    log = (tmp_path / "run.log").open("w")
    # A new session stands in for the terminal: Ctrl-C signals its whole foreground group.
    runner = subprocess.Popen(
        [sys.executable, "-m", "stack", "run"],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    ports = [int(env[p.env]) for p in environment.ports_in_use(1)]
    supervisor = supervision.Supervisor(supervision.config_path())
    children: list[int] = []
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and "Stop everything" not in _read(tmp_path):
            assert runner.poll() is None, _read(tmp_path)
            time.sleep(0.5)
        output = _read(tmp_path)
        assert "control panel is up" in output, output
        assert f"http://127.0.0.1:{env['WEB_PORT']}" in output
        assert "sre, sre2" in output and "business" in output and "admin" in output
        # The status table: every process RUNNING, every port up.
        for name in environment.PROCESSES:
            assert re.search(rf"^\s+{name}\s+RUNNING\s+\d+\s", output, re.MULTILINE), output
        assert " DOWN" not in output.split("=" * 72)[-2]
        with urllib.request.urlopen(f"http://127.0.0.1:{env['WEB_PORT']}/health") as response:
            assert response.status == 200
        prometheus = f"http://127.0.0.1:{env['PROMETHEUS_PORT']}"
        deadline = time.monotonic() + 60
        missing = PLAYBOOK_METRICS
        while missing and time.monotonic() < deadline:
            missing = [name for name in PLAYBOOK_METRICS if not _has_data(prometheus, name)]
            time.sleep(1)
        assert missing == [], "no data in the stack's Prometheus for these playbook metrics"
        assert all(_listening(port) for port in ports), output
        kubeconfig = tmp_path / "var" / "kubeconfig"
        assert f"127.0.0.1:{env['DEMO_K8S_PORT']}" in kubeconfig.read_text()

        # The finding this runner fixes: a killed process used to stop the whole stack.
        killed = supervisor.status()["prometheus"].pid
        assert killed
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not services.http_ok(f"{prometheus}/-/ready"):
            assert runner.poll() is None, _read(tmp_path)
            time.sleep(0.5)
        assert services.http_ok(f"{prometheus}/-/ready"), _read(tmp_path)
        assert "exited: prometheus (terminated by SIGKILL; not expected)" in _read(tmp_path)
        # Supervisord shows a pid once the process has stayed up for its startsecs.
        wait_for(lambda: supervisor.status()["prometheus"].state == "RUNNING", what="RUNNING again")
        children = [status.pid for status in supervisor.status().values() if status.pid]
        assert killed not in children and len(children) == len(environment.PROCESSES)
    finally:
        os.killpg(runner.pid, signal.SIGINT)
        returncode = runner.wait(60)
    assert returncode == 0, _read(tmp_path)
    still = [port for port in ports if _listening(port)]
    assert still == [], _read(tmp_path)
    wait_for(lambda: not any(is_alive(pid) for pid in children), what="every child to exit")


def _read(tmp_path) -> str:
    return (tmp_path / "run.log").read_text(errors="replace")


def test_it_puts_the_cache_on_the_users_redis_when_one_is_given(stack_env, monkeypatch):
    monkeypatch.delenv("CACHE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    assert environment.stack_environment()["CACHE_URL"] == "redis://cache.internal:6379/1"


@pytest.mark.parametrize(
    ("user_env", "left_out"),
    [
        ({}, set()),
        (
            {"PROMETHEUS_URL": "http://prom:9090"},
            {"prometheus", "node_exporter", "redis_exporter", "demo"},
        ),
        ({"ALERTMANAGER_URL": "http://am:9093"}, {"alertmanager"}),
        ({"REDIS_URL": "redis://r:6379/0"}, {"redis", "redis_exporter", "demo"}),
        ({"KUBECONFIG": "/etc/kube/config"}, {"demo"}),
        ({"DEMO_MODE": "0"}, {"demo"}),
    ],
)
def test_it_leaves_local_services_out_for_a_real_environment(user_env, left_out):
    assert set(environment.PROCESSES) - set(environment.processes(user_env)) == left_out


def test_it_sets_up_without_demo_users_outside_demo_mode(tmp_path):
    env = _env_with_free_ports(tmp_path, DEMO_MODE="0")
    setup = subprocess.run(
        [sys.executable, "-m", "stack", "setup"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert setup.returncode == 0, setup.stderr
    assert "Demo users ready" not in setup.stdout
    # Prometheus finds the thresholds' rules from its first start, and the current periods'
    # checklist runs exist before beat's first tick.
    assert (tmp_path / "var" / "prometheus" / "rules" / "leanvibe.rules.yml").is_file()
    opened = re.search(r"Opened (\d+) checklist runs", setup.stdout)
    assert opened and int(opened.group(1)) > 0, setup.stdout
    # The README's commands in a plain shell afterwards: no SECRET_KEY, no settings module;
    # manage.py finds the stack's settings in VAR_DIR's stack.env by itself.
    shell = clean_env(VAR_DIR=str(tmp_path / "var"))
    shell.pop("DJANGO_SETTINGS_MODULE", None)
    exported = run_manage("export_rules", env=shell)
    assert exported.returncode == 0, exported.stderr
    assert "groups:" in exported.stdout and "alert:" in exported.stdout
