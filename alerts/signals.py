"""What the alerts app tells the apps above it, which it may not import (the layers in
pyproject.toml): an evaluation cycle's changes of state, once stored."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by ``alerts.tasks.run_cycle`` after each cycle, with ``changes``: the cycle's
# ``StateChange`` rows (saved, in the cycle's transaction's committed state). Receivers run in
# the beat's worker; one that fails is logged and does not stop the others or the cycle.
states_changed = Signal()
