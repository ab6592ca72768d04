"""Choice sets of the incidents app."""

from __future__ import annotations

from django.db import models


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class EventKind(models.TextChoices):
    """The incident's own records (its audit): everything else on its timeline is read from
    the other apps' tables when the page is drawn."""

    OPENED = "opened", "Opened"
    JOINED = "joined", "Check joined"
    NOTE = "note", "Note"
    CLOSED = "closed", "Closed"


class ListFilter(models.TextChoices):
    """The list's ``?status=``: open, closed, or every incident (empty)."""

    ALL = "", "Every incident"
    OPEN = IncidentStatus.OPEN.value, "Open"
    CLOSED = IncidentStatus.CLOSED.value, "Closed"
