"""The history of ended silences: what each muted, who created it and why, and how it ended
(ran its course, expired by someone and why, or replaced by an edit).

Two sources, because neither is whole: Alertmanager keeps expired silences only for its
retention (five days by default), and knows nothing of who pressed "Expire" in the panel;
the panel's ``SilenceAudit`` keeps what was done from here for as long as the database does,
and knows nothing of silences made with amtool. Each silence is one row, Alertmanager's word
first where it still has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from firing.choices import SilenceAction
from firing.firing_list import AlertmanagerNow
from firing.models import SilenceAudit
from integrations.alertmanager import Silence

# The audit rows read for the history: older ended silences are in the admin's audit list.
HISTORY_WINDOW = timedelta(days=90)


class Ending:
    RAN_OUT = "ran_out"
    EXPIRED = "expired"
    REPLACED = "replaced"
    UNKNOWN = "unknown"  # expired outside the panel, or the panel has only part of it


@dataclass
class EndedSilence:
    id: str
    matchers: list[str]
    created_by: str
    comment: str
    starts_at: datetime | None
    ends_at: datetime | None
    ending: str = Ending.UNKNOWN
    ended_by: str = ""
    reason: str = ""
    replaced_by: str = ""
    changes: list[SilenceAudit] = field(default_factory=list)
    is_in_alertmanager: bool = False
    updated_at: datetime | None = None

    @property
    def length(self) -> timedelta | None:
        if self.starts_at is None or self.ends_at is None:
            return None
        return self.ends_at - self.starts_at


def _from_alertmanager(silence: Silence) -> EndedSilence:
    return EndedSilence(
        id=silence.id,
        matchers=[str(m) for m in silence.matchers],
        created_by=silence.created_by,
        comment=silence.comment,
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        is_in_alertmanager=True,
        updated_at=silence.updated_at,
    )


def _ending_by_its_times(row: EndedSilence) -> str:
    """Alertmanager sets a silence's end and its update time to the moment it is expired
    early; one that ran its course was last updated well before its end. The audit alone
    (Alertmanager has forgotten it) knows only the planned end."""
    if row.ends_at is None:
        return Ending.UNKNOWN
    if not row.is_in_alertmanager:
        return Ending.RAN_OUT
    if row.updated_at is not None and row.ends_at - row.updated_at > timedelta(seconds=1):
        return Ending.RAN_OUT
    return Ending.UNKNOWN


def ended_silences(
    now_am: AlertmanagerNow, *, person: str = "", now: datetime | None = None
) -> list[EndedSilence]:
    """Every ended silence Alertmanager or the audit knows of (the audit for
    ``HISTORY_WINDOW``), the latest to end first; with ``person``, those created or ended by
    someone whose name contains it. ``now_am`` must hold the expired silences too
    (``AlertmanagerNow.ask(silence_states=...)``); when Alertmanager was not asked, the
    audit alone says which have ended."""
    now = now or timezone.now()
    audit = list(
        SilenceAudit.objects.filter(at__gte=now - HISTORY_WINDOW)
        .select_related("actor")
        .order_by("at", "pk")
    )
    rows: dict[str, EndedSilence] = {
        s.id: _from_alertmanager(s) for s in now_am.silences.values() if s.state == "expired"
    }
    running = {s.id for s in now_am.silences.values() if s.state != "expired"}
    by_silence: dict[str, list[SilenceAudit]] = {}
    replaced_by: dict[str, SilenceAudit] = {}
    for entry in audit:
        by_silence.setdefault(entry.silence_id, []).append(entry)
        if entry.previous_id:
            replaced_by[entry.previous_id] = entry
    for silence_id, entries in by_silence.items():
        if silence_id in running:
            continue
        defining = [e for e in entries if e.action in SilenceAction.defining()]
        expired = [e for e in entries if e.action == SilenceAction.EXPIRED]
        row = rows.get(silence_id)
        if row is None:
            if not defining:
                continue  # only expired from here, made elsewhere and forgotten there
            last = defining[-1]
            if not (expired or silence_id in replaced_by or (last.ends_at and last.ends_at <= now)):
                continue  # Alertmanager not asked, and by the audit it still runs
            created = next((e for e in defining if e.action == SilenceAction.CREATED), None)
            row = rows[silence_id] = EndedSilence(
                id=silence_id,
                matchers=list(last.matchers),
                created_by=_name((created or defining[0]).actor),
                comment=last.comment,
                starts_at=last.starts_at,
                ends_at=expired[-1].at if expired else last.ends_at,
            )
        row.changes = entries
        if expired:
            row.ending, row.ended_by, row.reason = (
                Ending.EXPIRED,
                _name(expired[-1].actor),
                expired[-1].comment,
            )
    for silence_id, row in rows.items():
        if silence_id in replaced_by and row.ending == Ending.UNKNOWN:
            edit = replaced_by[silence_id]
            row.ending, row.ended_by, row.replaced_by = (
                Ending.REPLACED,
                _name(edit.actor),
                edit.silence_id,
            )
        elif row.ending == Ending.UNKNOWN:
            row.ending = _ending_by_its_times(row)
    wanted = person.casefold()
    listed = [
        r
        for r in rows.values()
        if not wanted or wanted in r.created_by.casefold() or wanted in r.ended_by.casefold()
    ]
    far_past = datetime.min.replace(tzinfo=now.tzinfo)
    return sorted(listed, key=lambda r: (r.ends_at or far_past, r.id), reverse=True)


def _name(user: object) -> str:
    username = getattr(user, "get_username", None)
    return str(username()) if callable(username) else "a deleted user"
