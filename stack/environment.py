"""Where the local stack keeps its files, which ports and processes it runs, and the
environment every one of its processes starts with."""

from __future__ import annotations

import os
import secrets
import shlex
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from demo.model import DEFAULT_NODES, DEFAULT_PODS, SizeError, cluster_size

BASE_DIR = Path(__file__).resolve().parent.parent
# Read as ``environment.VAR_DIR`` when used, not imported by name, so that a test moves it for
# every module of the stack at once.
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


@dataclass(frozen=True)
class Port:
    env: str
    default: int
    service: str
    # Used from this many replicas on (``STACK_REPLICAS``): 1 for the ports of the plain stack.
    replicas: int = 1

    @property
    def number(self) -> int:
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.default
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise SystemExit(f"{self.env}={raw!r} is not a TCP port number (1-65535).")
        return int(raw)


# ``STACK_REPLICAS=N`` runs N of each process that production runs several of (web behind a
# round-robin proxy, worker, beat, Prometheus, Alertmanager), so that one can be killed while
# the panel carries on. Web replicas are numbered, Prometheus and Alertmanager replicas
# lettered (their ``replica`` label, as in docker-compose.yml).
MAX_REPLICAS = 4
LETTERS = "abcd"


def _replica_ports() -> tuple[Port, ...]:
    # Replica a keeps the plain stack's ports; b, c and d add 100, 200 and 300 to them.
    ports = [
        Port(f"WEB_{n}_PORT", 8010 + n, f"web-{n} (gunicorn behind the proxy)", 2 if n < 3 else n)
        for n in range(1, MAX_REPLICAS + 1)
    ]
    ports.append(
        Port("ALERTMANAGER_CLUSTER_PORT", 9094, "alertmanager-a's cluster gossip", 2),
    )
    for n, letter in enumerate(LETTERS[1:], start=2):
        upper, offset = letter.upper(), (n - 1) * 100
        ports += [
            Port(f"PROMETHEUS_{upper}_PORT", 9090 + offset, f"prometheus-{letter}", n),
            Port(f"ALERTMANAGER_{upper}_PORT", 9093 + offset, f"alertmanager-{letter}", n),
            Port(
                f"ALERTMANAGER_{upper}_CLUSTER_PORT",
                9094 + offset,
                f"alertmanager-{letter}'s cluster gossip",
                n,
            ),
        ]
    return tuple(ports)


PORTS: tuple[Port, ...] = (
    Port("WEB_PORT", 8000, "the web panel (gunicorn)"),
    Port("REDIS_PORT", 6380, "the stack's Redis"),
    Port("PROMETHEUS_PORT", 9090, "Prometheus"),
    Port("ALERTMANAGER_PORT", 9093, "Alertmanager"),
    Port("NODE_EXPORTER_PORT", 9100, "node_exporter"),
    Port("REDIS_EXPORTER_PORT", 9121, "redis_exporter"),
    Port("DEMO_WORKLOAD_PORT", 9200, "the demo workload"),
    Port("DEMO_K8S_PORT", 8001, "the demo Kubernetes API"),
    *_replica_ports(),
)


def replica_count(env: Mapping[str, str]) -> int:
    """``STACK_REPLICAS``: how many of each replicated process the stack runs (default 1)."""
    raw = env.get("STACK_REPLICAS", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_REPLICAS:
        raise SystemExit(
            f"STACK_REPLICAS={raw!r} is not a number of replicas from 1 to {MAX_REPLICAS} "
            "(1, the default, runs one of each process; 2 runs two web processes behind a "
            "proxy, two workers, two beats, two Prometheus and two Alertmanagers)."
        )
    return int(raw)


def ports_in_use(replicas: int) -> tuple[Port, ...]:
    return tuple(p for p in PORTS if p.replicas <= replicas)


def web_ports(replicas: int) -> list[str]:
    """The port variables of the web processes: ``WEB_PORT`` alone, or one per replica."""
    return ["WEB_PORT"] if replicas == 1 else [f"WEB_{n}_PORT" for n in range(1, replicas + 1)]


def prometheus_ports(replicas: int) -> list[str]:
    return ["PROMETHEUS_PORT", *(f"PROMETHEUS_{x.upper()}_PORT" for x in LETTERS[1:replicas])]


def alertmanager_ports(replicas: int) -> list[str]:
    return ["ALERTMANAGER_PORT", *(f"ALERTMANAGER_{x.upper()}_PORT" for x in LETTERS[1:replicas])]


def cluster_ports(replicas: int) -> list[str]:
    """The Alertmanager peers' gossip ports (none for a single Alertmanager)."""
    if replicas == 1:
        return []
    others = [f"ALERTMANAGER_{x.upper()}_CLUSTER_PORT" for x in LETTERS[1:replicas]]
    return ["ALERTMANAGER_CLUSTER_PORT", *others]


def process_ports(replicas: int = 1) -> dict[str, tuple[str, ...]]:
    """The stack's processes (see ``stack.programs``) and the ports each one listens on. One
    replica: the plain names (``web``, ``prometheus``, ...); more: ``web-1``, ``web-2`` behind
    ``proxy``, ``worker-1``, ``beat-1``, ``prometheus-a``, ``alertmanager-a``, ..."""
    if replicas == 1:
        return dict(PROCESSES)
    numbers = range(1, replicas + 1)
    letters = LETTERS[:replicas]
    gossip = cluster_ports(replicas)
    return {
        **{f"web-{n}": (port,) for n, port in zip(numbers, web_ports(replicas), strict=True)},
        "proxy": ("WEB_PORT",),
        **{f"worker-{n}": () for n in numbers},
        **{f"beat-{n}": () for n in numbers},
        "redis": ("REDIS_PORT",),
        **{
            f"prometheus-{x}": (port,)
            for x, port in zip(letters, prometheus_ports(replicas), strict=True)
        },
        **{
            f"alertmanager-{x}": (port, cluster)
            for x, port, cluster in zip(letters, alertmanager_ports(replicas), gossip, strict=True)
        },
        "node_exporter": ("NODE_EXPORTER_PORT",),
        "redis_exporter": ("REDIS_EXPORTER_PORT",),
        "demo": ("DEMO_WORKLOAD_PORT", "DEMO_K8S_PORT"),
    }


# The processes of the plain stack (one replica of each) and the ports each one listens on.
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


def kind(name: str) -> str:
    """What a process is, without its replica: ``web-2`` -> ``web``, ``prometheus-b`` ->
    ``prometheus``."""
    return name.split("-", 1)[0]


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
    return [name for name in process_ports(replica_count(user_env)) if kind(name) not in skip]


def port(env: str) -> int:
    return next(p for p in PORTS if p.env == env).number


def secret_file(name: str, nbytes: int = 48) -> Path:
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


def _urls(port_envs: list[str]) -> str:
    return ",".join(f"http://127.0.0.1:{port(name)}" for name in port_envs)


def _refuse_shared_ports(ports: tuple[Port, ...]) -> None:
    """Two processes cannot listen on one port: say which variables name the same one."""
    seen: dict[int, Port] = {}
    for p in ports:
        first = seen.setdefault(p.number, p)
        if first is not p:
            raise SystemExit(
                f"Cannot start the local stack: {first.env} and {p.env} are both {p.number}; "
                "give each its own port."
            )


def stack_variables() -> dict[str, str]:
    """The variables the stack sets for its processes, each with the user's value when one was
    exported (`REDIS_URL=redis://... make run` uses the user's Redis). These, and nothing else
    from the caller's environment, are what ``python -m stack env`` prints and what
    ``stack.env`` holds for ``manage.py``; the stack's processes get the caller's whole
    environment besides (`DATABASE_URL=postgres://... make run`)."""
    web, redis = port("WEB_PORT"), port("REDIS_PORT")
    replicas = replica_count(os.environ)
    defaults = {
        "DJANGO_SETTINGS_MODULE": "controlpanel.settings",
        "DEMO_MODE": "1",
        "DEBUG": "0",
        # The stack serves plain HTTP on loopback; production keeps the HTTPS defaults.
        "USE_HTTPS": "0",
        "SECRET_KEY_FILE": str(secret_file("secret_key")),
        "ALERTMANAGER_WEBHOOK_TOKEN_FILE": str(secret_file("alertmanager_webhook_token", 32)),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,[::1]",
        "REDIS_URL": f"redis://127.0.0.1:{redis}/0",
        # The cache shares the Redis of REDIS_URL (the user's, when given), in database 1.
        "CACHE_URL": _with_database(os.environ.get("REDIS_URL") or f"redis://127.0.0.1:{redis}", 1),
        # Every replica, comma-separated: the panel asks one that answers.
        "PROMETHEUS_URL": _urls(prometheus_ports(replicas)),
        "ALERTMANAGER_URL": _urls(alertmanager_ports(replicas)),
        "PANEL_URL": f"http://127.0.0.1:{web}",
        "EVALUATION_INTERVAL": "15",
        "KUBECONFIG": str(VAR_DIR / "kubeconfig"),
        # The demo workload drives cache traffic in its own database of the stack's Redis.
        "DEMO_CACHE_URL": f"redis://127.0.0.1:{redis}/2",
        "VAR_DIR": str(VAR_DIR),
        "PYTHONUNBUFFERED": "1",
        # The demo cluster's size: its backend pods and nodes, in the metrics and the demo
        # Kubernetes API alike (checked here, so `make run` refuses a bad value at once).
        "DEMO_PODS": str(DEFAULT_PODS),
        "DEMO_NODES": str(DEFAULT_NODES),
    }
    if replicas > 1:
        defaults["STACK_REPLICAS"] = str(replicas)
    in_use = ports_in_use(replicas)
    _refuse_shared_ports(in_use)
    for p in in_use:
        defaults[p.env] = str(p.number)
    variables = {key: os.environ.get(key, value) for key, value in defaults.items()}
    try:
        cluster_size(variables)
    except SizeError as exc:
        raise SystemExit(f"Cannot start the local stack: {exc}") from exc
    return variables


def stack_environment() -> dict[str, str]:
    """The environment every process of the stack runs with: the caller's, with the stack's
    variables added where the caller did not set them."""
    return {**os.environ, **stack_variables()}


def shell_exports(variables: dict[str, str]) -> str:
    """``export NAME=value`` lines a POSIX shell can ``eval``, values quoted for it."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in variables.items())


def env_file(variables: dict[str, str]) -> str:
    """``stack.env``: one ``NAME=value`` line each, no quoting, read by ``manage.py``."""
    lines = ["# Generated by `make setup` / `make run`; edits are lost."]
    for name, value in variables.items():
        if "\n" in value or "\r" in value:
            raise SystemExit(f"{name} contains a line break; the stack cannot pass it on.")
        lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


def env_file_path() -> Path:
    return VAR_DIR / "stack.env"
