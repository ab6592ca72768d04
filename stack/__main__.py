"""``python -m stack setup|run|config|env|after-backfill``: what `make setup` and `make run`
(and the Procfile's demo entry) call."""

from __future__ import annotations

import argparse
import json
import os
import sys

import stack
from stack.configuration import write_configuration
from stack.environment import processes, stack_environment
from stack.run import exec_after_backfill, run
from stack.setup import setup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description=stack.__doc__)
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
