"""``python -m stack run``: check that every port is free, write the demo history in the
background, start the Procfile with honcho, wait for ``/health``, print the URL and the
logins, and stop everything on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from demo.backfill import backfill
from stack import environment
from stack.configuration import write_configuration
from stack.environment import BASE_DIR, PORTS, PROCESSES, Port

VENV_BIN = Path(sys.executable).parent
FIRST_START_TIMEOUT = 180


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


def backfill_pending() -> Path:
    """The marker that exists while the demo history is being written."""
    return environment.VAR_DIR / "demo" / "backfill.pending"


def start_backfill(env: dict[str, str]) -> threading.Thread:
    """Write the demo history in the background while the stack starts. The demo workload waits
    (``after-backfill``) only until the counters it continues from are saved; Prometheus loads
    the history blocks at its next reload, within a minute of their writing."""
    days = float(env.get("DEMO_HISTORY_DAYS") or 35)
    port = int(env["REDIS_EXPORTER_PORT"])
    pending = backfill_pending()
    pending.parent.mkdir(parents=True, exist_ok=True)
    pending.touch()

    def release_demo() -> None:
        pending.unlink(missing_ok=True)

    def work() -> None:
        try:
            print(f"Writing the demo history ({days:g} days on the first start)...", flush=True)
            print(
                backfill(environment.VAR_DIR, release_demo, days=days, redis_exporter_port=port),
                flush=True,
            )
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
    pending = backfill_pending()
    while pending.exists() and time.monotonic() < deadline:
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
