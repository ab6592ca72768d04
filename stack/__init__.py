"""The local stack behind `make run`: configuration under ``var/``, port checks, start and stop.

``python -m stack setup`` writes secrets and the generated configuration of Prometheus,
Alertmanager and Redis, migrates, collects static files and seeds the demo users.
``python -m stack run`` checks that every port is free, starts the Procfile with honcho, waits
for ``/health`` and prints the URL and the logins. Ctrl-C stops every child (honcho signals
each process group, then kills what is left after a few seconds).

Every port can be moved with the environment variable named in ``PORTS``; everything written
lives under ``var/`` so it survives restarts and never enters git.

This is a tool around the product, not part of it: it may import ``demo`` and drives Django
through management commands, and the Django project never imports it.
"""
