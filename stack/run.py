"""The local stack behind `make run`: configuration under ``var/``, port checks, start and stop.

``python -m controlpanel.stack setup`` writes secrets and the generated configuration of
Prometheus, Alertmanager and Redis, migrates, collects static files and seeds the demo users.
``python -m controlpanel.stack run`` checks that every port is free, starts the Procfile with
honcho, waits for ``/health`` and prints the URL and the logins. Ctrl-C stops every child
(honcho signals each process group, then kills what is left after a few seconds).

Every port can be moved with the environment variable named in ``PORTS``; everything written
lives under ``var/`` so it survives restarts and never enters git.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from demo.kube import kubeconfig

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VENV_BIN = Path(sys.executable).parent
FIRST_START_TIMEOUT = 180


@dataclass(frozen=True)
class Port:
    env: str
    default: int
    service: str

    @property
    def number(self) -> int:
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.default
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise SystemExit(f"{self.env}={raw!r} is not a TCP port number (1-65535).")
        return int(raw)


PORTS: tuple[Port, ...] = (
    Port("WEB_PORT", 8000, "the web panel (gunicorn)"),
    Port("REDIS_PORT", 6380, "the stack's Redis"),
    Port("PROMETHEUS_PORT", 9090, "Prometheus"),
    Port("ALERTMANAGER_PORT", 9093, "Alertmanager"),
    Port("NODE_EXPORTER_PORT", 9100, "node_exporter"),
    Port("REDIS_EXPORTER_PORT", 9121, "redis_exporter"),
    Port("DEMO_WORKLOAD_PORT", 9200, "the demo workload"),
    Port("DEMO_K8S_PORT", 8001, "the demo Kubernetes API"),
)

# Procfile entries and the ports each one listens on.
PROCESSES: dict[str, tuple[str, ...]] = {
    "web": ("WEB_PORT",),
    "worker": (),
    "beat": (),
    "redis": ("REDIS_PORT",),
    "prometheus": ("PROMETHEUS_PORT",),
    "alertmanager": ("ALERTMANAGER_PORT",),
    "node_exporter": ("NODE_EXPORTER_PORT",),
    "redis_exporter": ("REDIS_EXPORTER_PORT",),
    "demo": ("DEMO_WORKLOAD_PORT", "DEMO_K8S_PORT"),
}


def processes(user_env: dict[str, str]) -> list[str]:
    """The processes to start. Pointing the panel at a real Prometheus, Alertmanager, Redis or
    cluster (by setting its variable) leaves the local one, and the demo, out."""
    skip: set[str] = set()
    if user_env.get("PROMETHEUS_URL"):
        skip |= {"prometheus", "node_exporter", "redis_exporter", "demo"}
    if user_env.get("ALERTMANAGER_URL"):
        skip.add("alertmanager")
    if user_env.get("REDIS_URL"):
        skip |= {"redis", "redis_exporter", "demo"}
    if user_env.get("KUBECONFIG") or user_env.get("DEMO_MODE", "1").lower() in (
        "0",
        "false",
        "no",
        "off",
    ):
        skip.add("demo")
    return [name for name in PROCESSES if name not in skip]


def port(env: str) -> int:
    return next(p for p in PORTS if p.env == env).number


def _secret(name: str, nbytes: int = 48) -> Path:
    """A secret generated once and kept, so sessions and webhooks survive restarts."""
    path = VAR_DIR / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path


def _with_database(url: str, number: int) -> str:
    """The same Redis server, another database: redis://host:port/0 -> redis://host:port/N."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{number}"))


def stack_environment() -> dict[str, str]:
    """The environment every process of the stack runs with. Values the user exported win,
    so `DATABASE_URL=postgres://... make run` works."""
    web, redis = port("WEB_PORT"), port("REDIS_PORT")
    defaults = {
        "DJANGO_SETTINGS_MODULE": "controlpanel.settings",
        "DEMO_MODE": "1",
        "DEBUG": "0",
        # The stack serves plain HTTP on loopback; production keeps the HTTPS defaults.
        "USE_HTTPS": "0",
        "SECRET_KEY_FILE": str(_secret("secret_key")),
        "ALERTMANAGER_WEBHOOK_TOKEN_FILE": str(_secret("alertmanager_webhook_token", 32)),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,[::1]",
        "REDIS_URL": f"redis://127.0.0.1:{redis}/0",
        # The cache shares the Redis of REDIS_URL (the user's, when given), in database 1.
        "CACHE_URL": _with_database(os.environ.get("REDIS_URL") or f"redis://127.0.0.1:{redis}", 1),
        "PROMETHEUS_URL": f"http://127.0.0.1:{port('PROMETHEUS_PORT')}",
        "ALERTMANAGER_URL": f"http://127.0.0.1:{port('ALERTMANAGER_PORT')}",
        "PANEL_URL": f"http://127.0.0.1:{web}",
        "EVALUATION_INTERVAL": "15",
        "KUBECONFIG": str(VAR_DIR / "kubeconfig"),
        # The demo workload drives cache traffic in its own database of the stack's Redis.
        "DEMO_CACHE_URL": f"redis://127.0.0.1:{redis}/2",
        "VAR_DIR": str(VAR_DIR),
        "PYTHONUNBUFFERED": "1",
    }
    for p in PORTS:
        defaults[p.env] = str(p.number)
    env = dict(os.environ)
    for key, value in defaults.items():
        env.setdefault(key, value)
    return env


# --- generated configuration -------------------------------------------------------------


def prometheus_config(env: dict[str, str]) -> dict:
    def job(name: str, port_env: str, **extra: object) -> dict:
        return {
            "job_name": name,
            "static_configs": [{"targets": [f"127.0.0.1:{env[port_env]}"]}],
            **extra,
        }

    return {
        "global": {
            "scrape_interval": "15s",
            "evaluation_interval": "15s",
            "external_labels": {"environment": "local-demo"},
        },
        # The panel exports its thresholds as rules into this folder (and reloads Prometheus).
        "rule_files": [str(VAR_DIR / "prometheus" / "rules" / "*.yml")],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"127.0.0.1:{env['ALERTMANAGER_PORT']}"]}]}
            ]
        },
        "scrape_configs": [
            job("prometheus", "PROMETHEUS_PORT"),
            job("alertmanager", "ALERTMANAGER_PORT"),
            job("controlpanel", "WEB_PORT", metrics_path="/metrics"),
            job("node", "NODE_EXPORTER_PORT"),
            job("redis", "REDIS_EXPORTER_PORT"),
            # The demo workload names its own job and instance labels (application, cluster
            # nodes, kube-state), so that history and live series share them.
            job("demo", "DEMO_WORKLOAD_PORT", honor_labels=True),
        ],
    }


INHIBIT_WARNING_BY_CRITICAL = {
    "source_matchers": ['severity="critical"'],
    "target_matchers": ['severity="warning"'],
    "equal": [
        "alertname",
        "threshold",
        "tenant_tier",
        "instance",
        "namespace",
        "pod",
        "mountpoint",
    ],
}


def alertmanager_config(env: dict[str, str]) -> dict:
    """Routes by severity: every alert to the panel's webhook; critical alerts sooner, more
    often, and also by email to on-call when ``ALERT_EMAIL_TO`` (with ``EMAIL_HOST``) is set;
    both severities to a chat channel when ``ALERT_SLACK_WEBHOOK_URL`` is set."""
    webhook = {
        "url": f"{env['PANEL_URL']}/api/alertmanager/webhook",
        "send_resolved": True,
        "http_config": {
            "authorization": {
                "type": "Bearer",
                "credentials_file": env["ALERTMANAGER_WEBHOOK_TOKEN_FILE"],
            }
        },
    }
    chat = (
        [{"api_url": env["ALERT_SLACK_WEBHOOK_URL"], "send_resolved": True}]
        if env.get("ALERT_SLACK_WEBHOOK_URL")
        else []
    )
    email = (
        [
            {
                "to": env["ALERT_EMAIL_TO"],
                "from": env.get("DEFAULT_FROM_EMAIL", "monitoring@leanvibe.ai"),
                "smarthost": f"{env.get('EMAIL_HOST', '127.0.0.1')}:{env.get('EMAIL_PORT', '25')}",
                "require_tls": env.get("EMAIL_USE_TLS", "0").lower() in ("1", "true", "yes"),
                "send_resolved": True,
            }
        ]
        if env.get("ALERT_EMAIL_TO")
        else []
    )

    def receiver(name: str, *, with_email: bool) -> dict:
        out: dict = {"name": name, "webhook_configs": [webhook]}
        if chat:
            out["slack_configs"] = chat
        if with_email and email:
            out["email_configs"] = email
        return out

    return {
        "route": {
            "receiver": "controlpanel",
            "group_by": ["alertname", "severity", "tenant_tier"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {
                    "matchers": ['severity="critical"'],
                    "receiver": "critical",
                    "group_wait": "10s",
                    "repeat_interval": "1h",
                },
                {"matchers": ['severity="warning"'], "receiver": "warning"},
            ],
        },
        "receivers": [
            {"name": "controlpanel", "webhook_configs": [webhook]},
            receiver("critical", with_email=True),
            receiver("warning", with_email=False),
        ],
        # Each threshold exports a warning and a critical rule; while critical fires, its
        # warning twin for the same series is noise.
        "inhibit_rules": [INHIBIT_WARNING_BY_CRITICAL],
    }


def redis_config(env: dict[str, str]) -> str:
    data = VAR_DIR / "redis"
    # Snapshots keep queued Celery messages across a restart; no AOF, the broker is not a
    # system of record.
    return "\n".join(
        [
            f"port {env['REDIS_PORT']}",
            "bind 127.0.0.1",
            "protected-mode yes",
            f"dir {data}",
            "dbfilename dump.rdb",
            "save 300 10",
            "appendonly no",
            # The cache database has a ceiling, so hit rate and memory pressure are real. Only
            # keys with a TTL (the cache's) are evicted, never Celery's queues.
            "maxmemory 64mb",
            "maxmemory-policy volatile-lru",
            "daemonize no",
            'logfile ""',
            "",
        ]
    )


def write_configuration(env: dict[str, str]) -> list[Path]:
    """Write every generated file; returns their paths. Safe to run on every start."""
    for folder in ("prometheus/data", "prometheus/rules", "alertmanager/data", "redis", "log"):
        (VAR_DIR / folder).mkdir(parents=True, exist_ok=True)
    written = {
        VAR_DIR / "prometheus" / "prometheus.yml": yaml.safe_dump(
            prometheus_config(env), sort_keys=False
        ),
        VAR_DIR / "alertmanager" / "alertmanager.yml": yaml.safe_dump(
            alertmanager_config(env), sort_keys=False
        ),
        VAR_DIR / "redis" / "redis.conf": redis_config(env),
        # The demo cluster's; the panel uses it unless KUBECONFIG names another.
        VAR_DIR / "kubeconfig": kubeconfig(f"http://127.0.0.1:{env['DEMO_K8S_PORT']}"),
    }
    for path, text in written.items():
        header = "" if path.suffix == ".conf" else "# Generated by `make run`; edits are lost.\n"
        path.write_text(header + text)
    return list(written)


# --- setup ---------------------------------------------------------------------------------


def setup(env: dict[str, str]) -> None:
    """Configuration, database, static files and demo users: everything `make run` needs
    before it starts a process. Idempotent and quick the second time."""
    write_configuration(env)
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_playbook")
    from alerts.rules import write_rule_file

    # Prometheus loads the thresholds' rules from its first start; tuning rewrites the file.
    write_rule_file()
    _collectstatic_if_changed(call_command)
    if env.get("DEMO_MODE", "0").lower() in ("1", "true", "yes", "on"):
        call_command("seed_demo")
    from checklists.actions import open_runs

    # The current day's, week's, month's and quarter's checklist runs exist from the first page
    # on (beat's interval schedule first fires a minute after start, then gathers evidence).
    open_runs()


def _collectstatic_if_changed(call_command: object) -> None:
    """Collecting and compressing plotly.js takes seconds; skip it when nothing changed."""
    from django.contrib.staticfiles.finders import get_finders

    stamp = VAR_DIR / "static" / ".sources"
    sources = []
    for finder in get_finders():
        for path, storage in finder.list([]):
            full = Path(storage.path(path))
            sources.append(f"{path}:{full.stat().st_mtime_ns}:{full.stat().st_size}")
    # hashlib, not hash(): the fingerprint must be the same in the next process.
    fingerprint = hashlib.sha256("\n".join(sorted(sources)).encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    call_command("collectstatic", interactive=False, verbosity=0)  # type: ignore[operator]
    stamp.write_text(fingerprint)


# --- run -----------------------------------------------------------------------------------


def taken_ports(env: dict[str, str], names: list[str] | None = None) -> list[Port]:
    """Ports something already listens on. SO_REUSEADDR so that our own sockets in TIME_WAIT
    from a restart a moment ago are not mistaken for a foreign listener."""
    wanted = {port_env for name in (names or PROCESSES) for port_env in PROCESSES[name]}
    taken = []
    for p in PORTS:
        if p.env not in wanted:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", int(env[p.env])))
            except OSError:
                taken.append(p)
    return taken


def port_taken_message(taken: list[Port], env: dict[str, str]) -> str:
    lines = ["Cannot start the local stack: a port it needs is already in use."]
    for p in taken:
        number = env[p.env]
        lines.append(
            f"  - port {number} for {p.service} is taken. Stop what listens there "
            f"(see `ss -ltnp 'sport = :{number}'`) or pick another: "
            f"{p.env}={int(number) + 10000} make run"
        )
    return "\n".join(lines)


def wait_for_health(url: str, deadline: float, honcho: subprocess.Popen) -> bool:
    while time.monotonic() < deadline:
        if honcho.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


def banner(env: dict[str, str]) -> str:
    url = env["PANEL_URL"]
    password = env.get("DEMO_PASSWORD", "leanvibe-demo")
    return "\n".join(
        [
            "",
            "=" * 72,
            f"  LeanVibe control panel is up:  {url}",
            f"  Logins (password {password!r}):",
            "    sre, sre2  — SRE on call      business — business staff",
            f"    admin      — administrator ({url}/admin/)",
            f"  Prometheus   http://127.0.0.1:{env['PROMETHEUS_PORT']}",
            f"  Alertmanager http://127.0.0.1:{env['ALERTMANAGER_PORT']}",
            f"  Health       {url}/health",
            f"  Demo         workload http://127.0.0.1:{env['DEMO_WORKLOAD_PORT']}/scenarios, "
            f"cluster http://127.0.0.1:{env['DEMO_K8S_PORT']} (KUBECONFIG={env['KUBECONFIG']})",
            "  Stop everything with Ctrl-C. Data stays in var/.",
            "=" * 72,
            "",
        ]
    )


BACKFILL_PENDING = VAR_DIR / "demo" / "backfill.pending"


def start_backfill(env: dict[str, str]) -> threading.Thread:
    """Write the demo history in the background while the stack starts. The demo workload waits
    (``after-backfill``) only until the counters it continues from are saved; Prometheus loads
    the history blocks at its next reload, within a minute of their writing."""
    from demo.backfill import backfill

    days = float(env.get("DEMO_HISTORY_DAYS") or 35)
    port = int(env["REDIS_EXPORTER_PORT"])
    BACKFILL_PENDING.parent.mkdir(parents=True, exist_ok=True)
    BACKFILL_PENDING.touch()

    def release_demo() -> None:
        BACKFILL_PENDING.unlink(missing_ok=True)

    def work() -> None:
        try:
            print(f"Writing the demo history ({days:g} days on the first start)...", flush=True)
            print(backfill(VAR_DIR, release_demo, days=days, redis_exporter_port=port), flush=True)
        except Exception as exc:  # the stack still runs, without history; say so loudly
            print(f"The demo history could not be written: {exc}", file=sys.stderr, flush=True)
        finally:
            release_demo()

    thread = threading.Thread(target=work, name="backfill", daemon=True)
    thread.start()
    return thread


def exec_after_backfill(command: list[str], timeout: float = 600) -> None:
    """Wait until the demo history is written, then become ``command``."""
    deadline = time.monotonic() + timeout
    while BACKFILL_PENDING.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    os.execvp(command[0], command)  # noqa: S606 - the Procfile's own command line


def run(env: dict[str, str], names: list[str]) -> int:
    taken = taken_ports(env, names)
    if taken:
        print(port_taken_message(taken, env), file=sys.stderr)
        return 2
    write_configuration(env)
    if "demo" in names and "prometheus" in names:
        start_backfill(env)
    env = {**env, "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"}
    procfile = str(BASE_DIR / "Procfile")
    honcho = subprocess.Popen(
        [
            str(VENV_BIN / "honcho"),
            "start",
            "--no-colour",
            "-f",
            procfile,
            "-d",
            str(BASE_DIR),
            *names,
        ],
        env=env,
    )

    stop_requested = False

    def forward(signum: int, _frame: object) -> None:
        # Ctrl-C reaches honcho through the terminal's process group already (a second signal
        # is harmless to it); a signal sent to us alone (make, a supervisor, a test) must reach
        # it too. We then wait for honcho to finish stopping its children.
        nonlocal stop_requested
        stop_requested = True
        if honcho.poll() is None:
            honcho.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    deadline = time.monotonic() + FIRST_START_TIMEOUT
    if wait_for_health(env["PANEL_URL"], deadline, honcho):
        print(banner(env), flush=True)
    elif honcho.poll() is None:
        print(
            f"The panel did not answer {env['PANEL_URL']}/health in time; see the log lines above.",
            file=sys.stderr,
            flush=True,
        )
    returncode = honcho.wait()
    if stop_requested:
        print("Local stack stopped; its data stays in var/.", flush=True)
        return 0
    print(
        f"A process of the local stack exited (code {returncode}); everything was stopped.",
        file=sys.stderr,
        flush=True,
    )
    return returncode or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m controlpanel.stack", description=__doc__)
    parser.add_argument("command", choices=["setup", "run", "config", "env", "after-backfill"])
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="after-backfill: the command")
    args = parser.parse_args(argv)
    if args.command == "after-backfill":
        exec_after_backfill(args.argv)
    env = stack_environment()
    if args.command == "setup":
        setup(env)
    elif args.command == "run":
        return run(env, processes(dict(os.environ)))
    elif args.command == "config":
        for path in write_configuration(env):
            print(path)
    elif args.command == "env":
        print(json.dumps({k: env[k] for k in sorted(env) if k.isupper()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
