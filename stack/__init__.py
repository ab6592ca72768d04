"""The local stack behind `make run`: configuration under ``var/``, port checks, start and stop.

``python -m stack setup`` writes secrets and the generated configuration of Prometheus,
Alertmanager and Redis, migrates, collects static files and seeds the demo users.
``python -m stack run`` checks that every port is free, starts every process under Debian's
supervisord (``stack.supervision``: a process that exits is restarted, with a back-off while it
keeps failing, and each restart is logged), waits for ``/health`` and every port, and prints the
URL, the logins and which services are up. Ctrl-C stops every child (supervisord sends SIGTERM
to each one's process group, then SIGKILL to what is left after a few seconds).
``python -m stack env`` prints the stack's variables as ``export`` lines for a shell.

``STACK_REPLICAS=2`` (up to 4) runs production's shape instead of one of each: web-1 and
web-2 behind a round-robin HAProxy on the panel's port, worker-1/-2, beat-1/-2, prometheus-a/-b
scraping the same targets and alertmanager-a/-b peered by gossip, with ``PROMETHEUS_URL`` and
``ALERTMANAGER_URL`` naming every replica (``stack.environment.process_ports``).

Every port can be moved with the environment variable named in ``PORTS``; everything written
lives under ``var/`` so it survives restarts and never enters git.

This is a tool around the product, not part of it: it may import ``demo`` and drives Django
through management commands, and the Django project never imports it.
"""
