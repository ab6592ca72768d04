"""Choice sets of the alerts app (the shared ones are in ``core.choices``)."""

from __future__ import annotations

from django.db import models


class TuningKind(models.TextChoices):
    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    RESTORED = "restored", "Restored an earlier version"
    NOTE = "note", "Note without a change"
