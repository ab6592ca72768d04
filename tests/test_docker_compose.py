"""No Docker engine runs here, so the compose file is checked statically: everything it
builds, runs and mounts must exist in the repository, and its configuration must be what the
settings read."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
LONG_RUNNING = (
    "proxy",
    "web",
    "worker",
    "beat",
    "postgres",
    "redis",
    "prometheus-a",
    "prometheus-b",
    "alertmanager-a",
    "alertmanager-b",
)


def test_it_has_every_service_of_a_production_deployment():
    assert {
        "web",
        "worker",
        "beat",
        "postgres",
        "redis",
        "prometheus-a",
        "prometheus-b",
        "alertmanager-a",
        "alertmanager-b",
        "proxy",
        "migrate",
    } <= set(SERVICES)


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_it_health_checks_each_long_running_service(name):
    assert SERVICES[name]["healthcheck"]["test"]


def test_it_builds_from_a_dockerfile_whose_copied_paths_exist():
    build = SERVICES["web"]["build"]
    dockerfile = REPO / build["context"] / build["dockerfile"]
    assert dockerfile.is_file()
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"Dockerfile copies missing {source}"


def test_it_mounts_only_files_that_exist():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).is_file(), f"{name} mounts missing {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name} mounts undeclared volume {source}"


@pytest.mark.parametrize("name", ["migrate", "web", "worker", "beat"])
def test_it_runs_commands_that_exist_in_the_repository(name):
    command = SERVICES[name]["command"]
    program = command[0]
    if program == "python":
        assert (REPO / command[1]).is_file()
        assert command[2] in {"migrate"}
    elif program == "gunicorn":
        module = command[1].replace(".", "/") + ".py"
        assert (REPO / module).is_file()
    elif program == "celery":
        assert command[1] == "-A"
        assert (REPO / command[2] / "celery.py").is_file()
    else:
        pytest.fail(f"unexpected program {program}")


def test_it_configures_the_panel_only_with_variables_the_settings_read():
    settings_text = (REPO / "controlpanel" / "settings.py").read_text()
    readme = (REPO / "README.md").read_text()
    panel_env = COMPOSE["x-panel"]["environment"]
    for name in panel_env:
        base = name.removesuffix("_FILE")
        assert re.search(rf'env_\w+\("{base}"', settings_text), f"settings never read {name}"
        assert f"`{base}`" in readme, f"README's configuration table lacks {base}"


def test_it_ships_prometheus_and_alertmanager_configs_the_tools_accept(tmp_path):
    prom = subprocess.run(
        [
            "promtool",
            "check",
            "config",
            "--syntax-only",
            str(REPO / "deploy" / "prometheus" / "prometheus.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert prom.returncode == 0, prom.stdout + prom.stderr
    # The token file lives in a Docker secret; point the check at a stand-in.
    config = (REPO / "deploy" / "alertmanager" / "alertmanager.yml").read_text()
    token = tmp_path / "token"
    token.write_text("t")
    local = tmp_path / "alertmanager.yml"
    local.write_text(config.replace("/run/secrets/alertmanager_webhook_token", str(token)))
    am = subprocess.run(
        ["amtool", "check-config", str(local)], capture_output=True, text=True, check=False
    )
    assert am.returncode == 0, am.stdout + am.stderr


def test_it_takes_secrets_from_the_environment_not_from_files_in_git():
    for secret in COMPOSE["secrets"].values():
        assert set(secret) == {"environment"}


def test_it_allows_the_host_names_used_inside_the_compose_network(tmp_path):
    from tests.helpers import clean_env, run_python

    hosts = SERVICES["web"]["environment"]["ALLOWED_HOSTS"].replace(
        "${ALLOWED_HOSTS:-panel.leanvibe.ai}", "panel.leanvibe.ai"
    )
    secret = tmp_path / "key"
    secret.write_text("k" * 60)
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "print(c.get('/health/db', HTTP_HOST='127.0.0.1:8000').status_code,"
        " c.get('/metrics', HTTP_HOST='web:8000').status_code)\n"
    )
    env = clean_env(
        DJANGO_SETTINGS_MODULE="controlpanel.settings",
        ALLOWED_HOSTS=hosts,
        SECRET_KEY_FILE=str(secret),
        TRUST_X_FORWARDED_PROTO="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "200"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_it_publishes_ports_on_loopback_only(name):
    assert all(port.startswith("127.0.0.1:") for port in SERVICES[name].get("ports", []))


def test_it_replicates_every_process_of_the_panel_and_points_it_at_every_replica():
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["deploy"]["replicas"] >= 2, name
    env = COMPOSE["x-panel"]["environment"]
    assert env["PROMETHEUS_URL"].split(",") == [
        "http://prometheus-a:9090",
        "http://prometheus-b:9090",
    ]
    assert env["ALERTMANAGER_URL"].split(",") == [
        "http://alertmanager-a:9093",
        "http://alertmanager-b:9093",
    ]
    assert "ports" not in SERVICES["web"]  # reached through the proxy only


def test_the_alertmanagers_peer_with_each_other():
    for name in ("alertmanager-a", "alertmanager-b"):
        command = SERVICES[name]["command"]
        peers = {c.split("=", 1)[1] for c in command if c.startswith("--cluster.peer=")}
        assert peers == {"alertmanager-a:9094", "alertmanager-b:9094"}, name
        assert "--cluster.listen-address=0.0.0.0:9094" in command


def test_the_proxy_balances_over_the_web_replicas_with_health_checks():
    config = (REPO / "deploy" / "haproxy" / "haproxy.cfg").read_text()
    assert "balance roundrobin" in config and "option httpchk GET /health/db" in config
    assert "server-template web" in config and " check " in config
