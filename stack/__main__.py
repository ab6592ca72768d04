"""``python -m stack setup|run|config|env|after-backfill``: what `make setup` and `make run`
(and the demo's supervised command) call."""

from __future__ import annotations

import argparse
import os
import sys

import stack
from stack.configuration import write_configuration
from stack.environment import (
    process_ports,
    processes,
    replica_count,
    shell_exports,
    stack_environment,
    stack_variables,
)
from stack.programs import programs
from stack.run import exec_after_backfill, run
from stack.setup import setup
from stack.supervision import write_config

COMMANDS = ("setup", "run", "config", "env", "after-backfill")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description=stack.__doc__)
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument(
        "argv",
        nargs=argparse.REMAINDER,
        help="run: only these processes (default: all that apply); after-backfill: the command",
    )
    args = parser.parse_args(argv)
    if args.command == "after-backfill":
        exec_after_backfill(args.argv)
    if args.command == "env":
        # For `eval "$(python -m stack env)"`: the stack's own variables, nothing else.
        sys.stdout.write(shell_exports(stack_variables()))
        return 0
    env = stack_environment()
    names = processes(dict(os.environ))
    if args.command == "run" and args.argv:
        known = process_ports(replica_count(env))
        unknown = sorted(set(args.argv) - set(known))
        if unknown:
            parser.error(f"no such process: {', '.join(unknown)}; choose from {', '.join(known)}")
        names = [name for name in known if name in args.argv]
    if args.command == "setup":
        setup(env)
    elif args.command == "run":
        return run(env, names)
    elif args.command == "config":
        for path in write_configuration(env):
            print(path)
        print(write_config([programs(env)[name] for name in names]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
