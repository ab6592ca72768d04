"""``python -m stack run``: check that every port is free, write the demo history in the
background, start the processes under supervisord, wait for ``/health`` and every port, print
the URL, the logins and which services are up, and stop everything on Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from demo.backfill import backfill
from demo.model import cluster_size
from stack import environment
from stack.configuration import write_configuration
from stack.environment import PORTS, Port, process_ports, replica_count
from stack.programs import VENV_BIN, programs, prometheus_folder
from stack.supervision import (
    ProcessStatus,
    Supervisor,
    log_dir,
    log_path,
    missing_commands,
    wait_until,
    write_config,
)

FIRST_START_TIMEOUT = 180


def taken_ports(env: dict[str, str], names: list[str] | None = None) -> list[Port]:
    """Ports something already listens on. SO_REUSEADDR so that our own sockets in TIME_WAIT
    from a restart a moment ago are not mistaken for a foreign listener."""
    ports = process_ports(replica_count(env))
    wanted = {port_env for name in (names or ports) for port_env in ports[name]}
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


def is_listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def is_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _addresses(port_envs: list[str], env: dict[str, str], names: str) -> str:
    return ", ".join(
        f"{name} http://127.0.0.1:{env[port_env]}"
        for name, port_env in zip(names, port_envs, strict=False)
    )


def banner(env: dict[str, str]) -> str:
    url = env["PANEL_URL"]
    password = env.get("DEMO_PASSWORD", "leanvibe-demo")
    replicas = replica_count(env)
    if replicas == 1:
        services = [
            f"  Prometheus   http://127.0.0.1:{env['PROMETHEUS_PORT']}",
            f"  Alertmanager http://127.0.0.1:{env['ALERTMANAGER_PORT']}",
        ]
    else:
        letters = environment.LETTERS
        webs = ", ".join(
            f"web-{n} :{env[port_env]}"
            for n, port_env in enumerate(environment.web_ports(replicas), start=1)
        )
        services = [
            f"  Web          {webs}, behind the round-robin proxy at {url}",
            f"  Prometheus   {_addresses(environment.prometheus_ports(replicas), env, letters)}",
            "  Alertmanager "
            + _addresses(environment.alertmanager_ports(replicas), env, letters)
            + " (peered)",
        ]
    return "\n".join(
        [
            f"  LeanVibe control panel is up:  {url}",
            f"  Logins (password {password!r}):",
            "    sre, sre2  — SRE on call      business — business staff",
            f"    admin      — administrator ({url}/admin/)",
            *services,
            f"  Health       {url}/health",
            f"  Demo         workload http://127.0.0.1:{env['DEMO_WORKLOAD_PORT']}/scenarios, "
            f"cluster http://127.0.0.1:{env['DEMO_K8S_PORT']} (KUBECONFIG={env['KUBECONFIG']})",
        ]
    )


def control_hints(names: list[str], env: dict[str, str], config: Path) -> list[str]:
    """How to reach a process with supervisorctl; with replicas, how to stop one of each to
    watch the panel carry on (``start`` brings it back; a plain kill is restarted at once)."""
    if replica_count(env) == 1:
        return ["           (or restart services:prometheus, tail -f apps:web, ...)"]
    groups = {name: program.group for name, program in programs(env).items()}
    first = [f"{groups[name]}:{name}" for name in names if name.endswith(("-1", "-a"))]
    lines = ["           (or tail -f apps:web-1, restart services:prometheus-b, ...)"]
    if first:
        lines += [
            "  Replicas: stop one and watch the panel carry on with the other, e.g.",
            f"    supervisorctl -c {config} stop {first[0]}",
            *textwrap.wrap(
                f"(or {', '.join(first[1:]) or 'another'}; `start` brings it back)",
                width=90,
                initial_indent="    ",
                subsequent_indent="     ",
            ),
            f"  Watch: {log_path('proxy')} (a web replica DOWN, then UP), every page's",
            "    banner (a Prometheus replica down), /alerts/silences (an Alertmanager peer down)",
        ]
    return lines


def _is_waiting_for_history(name: str) -> bool:
    # The demo's supervised command sleeps (``after-backfill``) until the history's counters
    # are saved: about a minute on the first start. It is not down, and nothing is wrong.
    return name == "demo" and backfill_pending().exists()


def status_table(names: list[str], statuses: dict[str, ProcessStatus], env: dict[str, str]) -> str:
    """One line per process: supervisord's state and pid, and whether each of its ports
    answers a connection right now (a RUNNING process may still be opening its port)."""
    rows = [("process", "state", "pid", "ports")]
    ports_of = process_ports(replica_count(env))
    for name in names:
        status = statuses.get(name)
        ports = ", ".join(
            f"{env[port_env]} {'up' if is_listening(int(env[port_env])) else 'DOWN'}"
            for port_env in ports_of[name]
        )
        if _is_waiting_for_history(name):
            ports = "starts once the demo history's counters are written"
        rows.append(
            (
                name,
                status.state if status else "UNKNOWN",
                str(status.pid) if status and status.pid else "-",
                ports or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"  {row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}"
        for row in rows
    )


def is_up(names: list[str], statuses: dict[str, ProcessStatus], env: dict[str, str]) -> bool:
    """Every process RUNNING and every port answering (the demo's once it may start)."""
    ports_of = process_ports(replica_count(env))
    return all(name in statuses and statuses[name].state == "RUNNING" for name in names) and all(
        is_listening(int(env[p]))
        for name in names
        if not _is_waiting_for_history(name)
        for p in ports_of[name]
    )


def backfill_pending() -> Path:
    """The marker that exists while the demo history is being written."""
    return environment.VAR_DIR / "demo" / "backfill.pending"


def hold_demo() -> None:
    """Make the demo wait (``after-backfill``) until the history's counters are saved."""
    pending = backfill_pending()
    pending.parent.mkdir(parents=True, exist_ok=True)
    pending.touch()


def new_replicas(env: dict[str, str]) -> list[Path]:
    """The data folders of the Prometheus replicas (b, c, ...) that have never run: read before
    the stack starts them, since their first start writes the folder."""
    others = [prometheus_folder(x) / "data" for x in environment.LETTERS[1 : replica_count(env)]]
    return [other for other in others if not tsdb_blocks(other) and not (other / "wal").exists()]


def start_backfill(env: dict[str, str], new: list[Path] | None = None) -> threading.Thread:
    """Write the demo history in the background while the stack starts. The demo workload waits
    (``after-backfill``) only until the counters it continues from are saved; Prometheus loads
    the history blocks at its next reload, within a minute of their writing. A replica that
    starts for the first time beside a history written by earlier runs (of one replica, say)
    is given every block of a's (``new``): they all end before its own data, which begins
    now."""
    new = new or []
    days = float(env.get("DEMO_HISTORY_DAYS") or 35)
    port = int(env["REDIS_EXPORTER_PORT"])
    size = cluster_size(env)  # checked by stack_variables already
    hold_demo()

    def release_demo() -> None:
        backfill_pending().unlink(missing_ok=True)

    data = prometheus_folder(None) / "data"
    others = [prometheus_folder(x) / "data" for x in environment.LETTERS[1 : replica_count(env)]]

    def work() -> None:
        try:
            print(f"Writing the demo history ({days:g} days on the first start)...", flush=True)
            before = tsdb_blocks(data)
            if new and before:
                print(share_blocks(data, before, new), flush=True)
            print(
                backfill(
                    environment.VAR_DIR,
                    release_demo,
                    days=days,
                    redis_exporter_port=port,
                    size=size,
                ),
                flush=True,
            )
            if others:
                print(share_blocks(data, tsdb_blocks(data) - before, others), flush=True)
        except Exception as exc:  # the stack still runs, without history; say so loudly
            print(f"The demo history could not be written: {exc}", file=sys.stderr, flush=True)
        finally:
            release_demo()

    thread = threading.Thread(target=work, name="backfill", daemon=True)
    thread.start()
    return thread


def tsdb_blocks(data: Path) -> set[str]:
    """The names of the blocks in a Prometheus data directory (each a folder with its meta)."""
    if not data.is_dir():
        return set()
    return {entry.name for entry in data.iterdir() if (entry / "meta.json").is_file()}


def share_blocks(data: Path, names: set[str], replicas: list[Path]) -> str:
    """Give the other Prometheus replicas the history blocks just written into replica a's
    data directory, as hard links (no second copy on disk; each replica deletes its own links
    when it compacts), so that a query answered by any replica sees the same history. Each
    block is linked into a temporary folder first and renamed into place whole: Prometheus
    never loads half a block."""
    shared = 0
    for target in replicas:
        target.mkdir(parents=True, exist_ok=True)
        for name in sorted(names - tsdb_blocks(target)):
            partial = target / f"{name}.tmp-from-a"
            shutil.rmtree(partial, ignore_errors=True)
            try:
                shutil.copytree(data / name, partial, copy_function=_link_or_copy)
                os.replace(partial, target / name)
                shared += 1
            except OSError as exc:  # replica a compacted it away meanwhile: skip that one
                shutil.rmtree(partial, ignore_errors=True)
                print(f"History block {name} not shared with {target}: {exc}", file=sys.stderr)
    return f"shared {shared} history blocks with the other Prometheus replicas"


def _link_or_copy(source: str, target: str) -> None:
    """A hard link, or a copy where the file system has none (some shared folders, another
    device); a file gone meanwhile (compacted away) stays an error."""
    try:
        os.link(source, target)
    except FileNotFoundError:
        raise
    except OSError:
        shutil.copy2(source, target)


def exec_after_backfill(command: list[str], timeout: float = 600) -> None:
    """Wait until the demo history is written, then become ``command``."""
    deadline = time.monotonic() + timeout
    pending = backfill_pending()
    while pending.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    os.execvp(command[0], command)  # noqa: S606 - the stack's own command line


def run(env: dict[str, str], names: list[str]) -> int:
    """Start ``names`` under supervisord and stay in the foreground until SIGINT or SIGTERM
    (or until supervisord itself ends); returns the exit code for `make run`."""
    taken = taken_ports(env, names)
    if taken:
        print(port_taken_message(taken, env), file=sys.stderr)
        return 2
    write_configuration(env)
    chosen = [program for name, program in programs(env).items() if name in names]
    missing = missing_commands(chosen)
    if missing:
        print(
            "Cannot start the local stack; not installed: " + "; ".join(missing),
            file=sys.stderr,
        )
        return 2
    # The history goes into var/prometheus: the plain stack's Prometheus, or replica a.
    backfilling = "demo" in names and bool({"prometheus", "prometheus-a"} & set(names))
    if backfilling:
        hold_demo()  # before supervisord spawns the demo
    else:
        backfill_pending().unlink(missing_ok=True)  # left by a run that was killed
    env = {**env, "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"}
    supervisor = Supervisor(write_config(chosen))

    stop_requested = threading.Event()
    stop_started = 0.0

    def stop(signum: int, _frame: object) -> None:
        # Ctrl-C in a terminal reaches supervisord through the process group already (a second
        # signal changes nothing for it); a signal sent to us alone (make on SIGTERM, a test)
        # must reach it too. We then wait until it has stopped every process. (No print here:
        # a handler that writes to stdout while the main thread does raises a reentrant call.)
        nonlocal stop_started
        if not stop_requested.is_set():
            stop_started = time.monotonic()
        stop_requested.set()
        supervisor.stop(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if stop_requested.is_set():  # stopped before anything started
        return 0
    new = new_replicas(env)
    supervisor.start(env)
    if backfilling:
        start_backfill(env, new)

    def finished() -> bool:
        return stop_requested.is_set() or not supervisor.is_alive()

    deadline = time.monotonic() + FIRST_START_TIMEOUT
    # The panel's address: the web process, or the proxy in front of its replicas.
    front_door = bool({"web", "proxy"} & set(names))
    if front_door:
        wait_until(lambda: finished() or is_healthy(env["PANEL_URL"]), deadline, 0.5)
        if not finished() and not is_healthy(env["PANEL_URL"]):
            print(
                f"The panel did not answer {env['PANEL_URL']}/health in time; "
                f"see {log_path('web' if 'web' in names else 'proxy')}.",
                file=sys.stderr,
                flush=True,
            )
    statuses: dict[str, ProcessStatus] = {}

    def everything_up() -> bool:
        nonlocal statuses
        if finished():
            return True
        statuses = supervisor.status()
        # A process supervisord gave up on will not come up by waiting: show the table now.
        gave_up = any(status.state == "FATAL" for status in statuses.values())
        return gave_up or is_up(names, statuses, env)

    wait_until(everything_up, deadline, 0.5)
    if not finished():
        lines = ["", "=" * 72]
        if front_door:
            lines += [banner(env), ""]
        lines += [
            status_table(names, statuses, env),
            "",
            f"  Logs: {log_dir()}/<process>.log; exits and restarts above and in supervisord.log",
            f"  Control: supervisorctl -c {supervisor.config} status",
            *control_hints(names, env, supervisor.config),
            "  Stop everything with Ctrl-C. Data stays in var/.",
            "=" * 72,
            "",
        ]
        print("\n".join(lines), flush=True)
    returncode = supervisor.wait()
    if stop_requested.is_set():
        took = time.monotonic() - stop_started
        print(f"Local stack stopped in {took:.1f}s; its data stays in var/.", flush=True)
        return 0
    print(
        f"supervisord exited (code {returncode}); it stops every process it ran.",
        file=sys.stderr,
        flush=True,
    )
    return returncode or 1
