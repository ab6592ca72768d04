"""The processes of the local stack and their command lines (they replace the Procfile).

Every process stays in the foreground so that supervisord can watch, restart and stop it.
Ports and paths come from the stack's environment. The demo workload waits for the demo
history's counters (``after-backfill``) before it starts; Prometheus starts at once and loads
the history's blocks at its next reload.
"""

from __future__ import annotations

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


def programs(env: dict[str, str]) -> dict[str, Program]:
    var = environment.VAR_DIR
    python = sys.executable
    return {
        program.name: program
        for program in (
            Program(
                "web",
                (
                    str(VENV_BIN / "gunicorn"),
                    "controlpanel.wsgi",
                    "--bind",
                    f"127.0.0.1:{env['WEB_PORT']}",
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
            ),
            Program(
                "worker",
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
                    "worker@%h",
                ),
                "apps",
            ),
            Program(
                "beat",
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
            ),
            Program(
                "redis",
                ("redis-server", str(var / "redis" / "redis.conf")),
                "services",
                "redis-server",
            ),
            Program(
                "prometheus",
                (
                    "prometheus",
                    f"--config.file={var / 'prometheus' / 'prometheus.yml'}",
                    f"--storage.tsdb.path={var / 'prometheus' / 'data'}",
                    # 100 days: the business series' 95 days of history (their dashboards
                    # offer 90), not only DEMO_HISTORY_DAYS
                    "--storage.tsdb.retention.time=100d",
                    f"--web.listen-address=127.0.0.1:{env['PROMETHEUS_PORT']}",
                    # the address its alerts link back to ("Query in Prometheus"): the one the
                    # panel uses, not the machine's host name, which a browser may not resolve
                    f"--web.external-url=http://127.0.0.1:{env['PROMETHEUS_PORT']}",
                    "--web.enable-lifecycle",
                    "--log.level=warn",
                ),
                "services",
                "prometheus",
            ),
            Program(
                "alertmanager",
                (
                    "prometheus-alertmanager",
                    f"--config.file={var / 'alertmanager' / 'alertmanager.yml'}",
                    f"--storage.path={var / 'alertmanager' / 'data'}",
                    f"--web.listen-address=127.0.0.1:{env['ALERTMANAGER_PORT']}",
                    f"--web.external-url=http://127.0.0.1:{env['ALERTMANAGER_PORT']}",
                    "--cluster.listen-address=",
                    "--log.level=warn",
                ),
                "services",
                "prometheus-alertmanager",
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
