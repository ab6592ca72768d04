"""The processes of the local stack and their command lines (they replace the Procfile).

Every process stays in the foreground so that supervisord can watch, restart and stop it.
Ports and paths come from the stack's environment. The demo workload waits for the demo
history's counters (``after-backfill``) before it starts; Prometheus starts at once and loads
the history's blocks at its next reload.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from stack import environment

VENV_BIN = Path(sys.executable).parent


# Supervisord stops one group at a time, highest priority first, and every process of a group
# at once: the panel's processes (and the demo) first, while Redis, which Celery acknowledges
# to on its way out, is still there; then the services. One group per process would stop the
# nine one after the other (20 s and more on a busy machine instead of a few).
GROUPS = {"apps": 300, "services": 100}


@dataclass(frozen=True)
class Program:
    """One supervised process, in one of ``GROUPS``. ``package`` is the Debian package that
    provides ``command[0]``, for the message when it is missing."""

    name: str
    command: tuple[str, ...]
    group: str
    package: str | None = None


def _debian_binary(name: str) -> str:
    """A packaged command by full path when it lives in an ``sbin`` a user's PATH may lack
    (Debian installs ``haproxy`` in /usr/sbin)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    return found or name


def _web(name: str, port: str) -> Program:
    return Program(
        name,
        (
            str(VENV_BIN / "gunicorn"),
            "controlpanel.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "8",
            "--timeout",
            "60",
            "--access-logfile",
            "-",
            "--access-logformat",
            '%(h)s "%(r)s" %(s)s %(M)sms',
        ),
        "apps",
    )


def _worker(name: str, hostname: str) -> Program:
    return Program(
        name,
        (
            str(VENV_BIN / "celery"),
            "-A",
            "controlpanel",
            "worker",
            "-Q",
            "celery,runbooks",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--hostname",
            hostname,
        ),
        "apps",
    )


def _beat(name: str) -> Program:
    # The schedule lives in the database (django_celery_beat's DatabaseScheduler) and no pid
    # file is written, so several beats need nothing of their own; each tick they send is
    # claimed once (health.slots).
    return Program(
        name,
        (
            str(VENV_BIN / "celery"),
            "-A",
            "controlpanel",
            "beat",
            "--loglevel",
            "INFO",
            "--pidfile=",
        ),
        "apps",
    )


def _prometheus(name: str, folder: Path, port: str) -> Program:
    return Program(
        name,
        (
            "prometheus",
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            # 100 days: the business series' 95 days of history (their dashboards
            # offer 90), not only DEMO_HISTORY_DAYS
            "--storage.tsdb.retention.time=100d",
            f"--web.listen-address=127.0.0.1:{port}",
            # the address its alerts link back to ("Query in Prometheus"): the one the
            # panel uses, not the machine's host name, which a browser may not resolve
            f"--web.external-url=http://127.0.0.1:{port}",
            "--web.enable-lifecycle",
            "--log.level=warn",
        ),
        "services",
        "prometheus",
    )


def _alertmanager(name: str, data: Path, port: str, cluster: tuple[str, ...]) -> Program:
    return Program(
        name,
        (
            "prometheus-alertmanager",
            f"--config.file={environment.VAR_DIR / 'alertmanager' / 'alertmanager.yml'}",
            f"--storage.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.external-url=http://127.0.0.1:{port}",
            *(cluster or ("--cluster.listen-address=",)),
            "--log.level=warn",
        ),
        "services",
        "prometheus-alertmanager",
    )


def _gossip(env: dict[str, str], own: str, peers: list[str]) -> tuple[str, ...]:
    """A peer's cluster flags: gossip on loopback, and every other peer to join."""
    address = f"127.0.0.1:{env[own]}"
    return (
        f"--cluster.listen-address={address}",
        f"--cluster.advertise-address={address}",
        *(f"--cluster.peer=127.0.0.1:{env[peer]}" for peer in peers if peer != own),
    )


def _proxy() -> Program:
    return Program(
        "proxy",
        # -W: master-worker, -db: in the foreground, logging to its output.
        (_debian_binary("haproxy"), "-W", "-db", "-f", str(proxy_config_path())),
        "apps",
        "haproxy",
    )


def proxy_config_path() -> Path:
    return environment.VAR_DIR / "haproxy" / "haproxy.cfg"


def prometheus_folder(letter: str | None) -> Path:
    """Replica a (and the plain stack's Prometheus) keeps ``var/prometheus``, where the demo
    history is written; replica b has ``var/prometheus-b`` and so on."""
    name = "prometheus" if letter in (None, "a") else f"prometheus-{letter}"
    return environment.VAR_DIR / name


def alertmanager_data(letter: str | None) -> Path:
    name = "alertmanager" if letter in (None, "a") else f"alertmanager-{letter}"
    return environment.VAR_DIR / name / "data"


def _replicated(env: dict[str, str], replicas: int) -> list[Program]:
    letters = environment.LETTERS[:replicas]
    numbers = range(1, replicas + 1)
    gossip = environment.cluster_ports(replicas)
    return [
        *(
            _web(f"web-{n}", env[port])
            for n, port in zip(numbers, environment.web_ports(replicas), strict=True)
        ),
        _proxy(),
        # distinct node names: Celery's remote control and events tell the workers apart
        *(_worker(f"worker-{n}", f"worker{n}@%h") for n in numbers),
        *(_beat(f"beat-{n}") for n in numbers),
        *(
            _prometheus(f"prometheus-{x}", prometheus_folder(x), env[port])
            for x, port in zip(letters, environment.prometheus_ports(replicas), strict=True)
        ),
        *(
            _alertmanager(
                f"alertmanager-{x}", alertmanager_data(x), env[port], _gossip(env, own, gossip)
            )
            for x, port, own in zip(
                letters, environment.alertmanager_ports(replicas), gossip, strict=True
            )
        ),
    ]


def programs(env: dict[str, str]) -> dict[str, Program]:
    """Every program of the stack for ``STACK_REPLICAS`` in ``env``, by name, in the order of
    ``environment.process_ports``."""
    replicas = environment.replica_count(env)
    python = sys.executable
    if replicas == 1:
        replicated = [
            _web("web", env["WEB_PORT"]),
            _worker("worker", "worker@%h"),
            _beat("beat"),
            _prometheus("prometheus", prometheus_folder(None), env["PROMETHEUS_PORT"]),
            _alertmanager("alertmanager", alertmanager_data(None), env["ALERTMANAGER_PORT"], ()),
        ]
    else:
        replicated = _replicated(env, replicas)
    by_name = {
        program.name: program
        for program in (
            *replicated,
            Program(
                "redis",
                ("redis-server", str(environment.VAR_DIR / "redis" / "redis.conf")),
                "services",
                "redis-server",
            ),
            Program(
                "node_exporter",
                (
                    "prometheus-node-exporter",
                    f"--web.listen-address=127.0.0.1:{env['NODE_EXPORTER_PORT']}",
                    "--log.level=warn",
                    "--no-collector.systemd",
                ),
                "services",
                "prometheus-node-exporter",
            ),
            Program(
                "redis_exporter",
                (
                    "prometheus-redis-exporter",
                    "-redis.addr",
                    f"redis://127.0.0.1:{env['REDIS_PORT']}",
                    "-web.listen-address",
                    f"127.0.0.1:{env['REDIS_EXPORTER_PORT']}",
                ),
                "services",
                "prometheus-redis-exporter",
            ),
            Program(
                "demo",
                (
                    python,
                    "-m",
                    "stack",
                    "after-backfill",
                    python,
                    "-m",
                    "demo",
                    "serve",
                    "--workload-port",
                    env["DEMO_WORKLOAD_PORT"],
                    "--cluster-port",
                    env["DEMO_K8S_PORT"],
                    "--redis-url",
                    env["DEMO_CACHE_URL"],
                ),
                "apps",
            ),
        )
    }
    return {name: by_name[name] for name in environment.process_ports(replicas)}
