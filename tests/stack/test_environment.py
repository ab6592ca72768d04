"""The stack's settings outside its own processes: ``python -m stack env`` for a shell, and
``manage.py`` in a shell finding the stack's ``stack.env`` by itself."""

from __future__ import annotations

import subprocess
import sys

from stack import environment
from tests.helpers import REPO, clean_env, run_manage
from tests.stack.helpers import port_env


def _stack_env(tmp_path, **extra: str) -> dict[str, str]:
    # A quote and a space in the path: the values must survive a shell's eval.
    env = clean_env(VAR_DIR=str(tmp_path / "it's var"), **extra)
    env.update(port_env())
    return env


def _shell() -> dict[str, str]:
    """What a user's shell has: no settings module, no secret, none of the test run's vars."""
    env = clean_env()
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def _stack(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stack", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_prints_only_the_stack_variables_in_a_form_bash_can_source(tmp_path):
    env = _stack_env(tmp_path, UNRELATED_SETTING="do not print me", DATABASE_URL="sqlite:///x")
    result = _stack("env", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("export ") for line in lines), result.stdout
    names = [line.removeprefix("export ").partition("=")[0] for line in lines]
    assert "UNRELATED_SETTING" not in names and "PATH" not in names and "HOME" not in names
    assert "DATABASE_URL" not in names  # the user's own, not the stack's
    assert {"SECRET_KEY_FILE", "REDIS_URL", "PROMETHEUS_URL", "VAR_DIR", "WEB_PORT"} <= set(names)

    script = tmp_path / "exports.sh"
    script.write_text(result.stdout)
    sourced = subprocess.run(
        [
            "bash",
            "-euc",
            'eval "$(cat "$1")"; printf "%s\\n" "$VAR_DIR" "$ALLOWED_HOSTS" "$WEB_PORT"',
            "bash",
            str(script),
        ],
        env={"PATH": env["PATH"]},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert sourced.returncode == 0, sourced.stderr
    assert sourced.stdout.splitlines() == [
        str(tmp_path / "it's var"),
        "127.0.0.1,localhost,[::1]",
        env["WEB_PORT"],
    ]


def test_it_prints_the_users_value_where_one_was_exported(tmp_path):
    env = _stack_env(tmp_path, REDIS_URL="redis://cache.internal:6379/0")
    result = _stack("env", env=env)
    assert "export REDIS_URL=redis://cache.internal:6379/0\n" in result.stdout


def test_it_lets_manage_py_find_the_stack_settings_without_a_secret_in_the_environment(
    tmp_path,
):
    env = _stack_env(tmp_path)
    assert _stack("config", env=env).returncode == 0
    shell = {**_shell(), "VAR_DIR": env["VAR_DIR"]}
    assert "SECRET_KEY" not in shell and "SECRET_KEY_FILE" not in shell
    result = run_manage("check", env=shell)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_lets_a_variable_in_the_environment_win_over_the_stack_file(tmp_path):
    env = _stack_env(tmp_path)
    assert _stack("config", env=env).returncode == 0
    shell = {**_shell(), "VAR_DIR": env["VAR_DIR"], "ALLOWED_HOSTS": "*"}
    result = run_manage("check", env=shell)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS may not contain '*'" in result.stderr


def test_it_reads_no_stack_file_for_a_process_that_names_its_settings(tmp_path):
    """The test suite, a container, the stack's own processes: their environment is whole."""
    env = _stack_env(tmp_path)
    assert _stack("config", env=env).returncode == 0
    shell = {
        **_shell(),
        "VAR_DIR": env["VAR_DIR"],
        "DJANGO_SETTINGS_MODULE": "controlpanel.settings",
    }
    result = run_manage("check", env=shell)
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set" in result.stderr


def test_it_has_prometheus_and_alertmanager_link_back_to_the_addresses_the_panel_uses(
    monkeypatch,
):
    """An alert's "Query in Prometheus" link is Prometheus's external URL: by default the
    machine's host name, which the browser on another machine may not resolve."""
    from stack.programs import programs

    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    monkeypatch.delenv("ALERTMANAGER_URL", raising=False)
    env = environment.stack_environment()
    commands = {name: program.command for name, program in programs(env).items()}
    assert f"--web.external-url={env['PROMETHEUS_URL']}" in commands["prometheus"]
    assert f"--web.external-url={env['ALERTMANAGER_URL']}" in commands["alertmanager"]
