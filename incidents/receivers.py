"""The incidents app listening to the evaluation cycle (``alerts.signals.states_changed``,
connected in ``IncidentsConfig.ready``). The alerts app may not import incidents (the layers in
pyproject.toml), so it announces its changes and this receiver hands them to the action."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alerts.models import StateChange
from incidents import actions


def on_states_changed(sender: Any, changes: Sequence[StateChange] = (), **kwargs: Any) -> None:
    # Called after every cycle, with or without changes: closing an incident whose checks all
    # recovered needs no change of its own in this cycle.
    actions.record_changes(list(changes))
