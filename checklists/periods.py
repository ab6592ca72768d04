"""Periods of the four cadences, in the panel's local time zone (``TIME_ZONE``).

A period is named by the date of its first day: a daily run by its day, a weekly one by its
Monday, a monthly one by the 1st, a quarterly one by the 1st of January, April, July or
October. Each opens at ``CHECKLIST_DAILY_AT`` local time on that first day. Wall-clock times
that a daylight-saving change skips or repeats resolve as ``zoneinfo`` does with ``fold=0``:
a skipped 02:30 opens at 03:30, a repeated one at its first occurrence.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from checklists.choices import Cadence


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def opening_time() -> time:
    hour, minute = settings.CHECKLIST_DAILY_AT.split(":")
    return time(int(hour), int(minute))


def period_start(cadence: str, day: date) -> date:
    """The first day of the period that contains ``day``."""
    if cadence == Cadence.DAILY:
        return day
    if cadence == Cadence.WEEKLY:
        return day - timedelta(days=day.weekday())
    if cadence == Cadence.MONTHLY:
        return day.replace(day=1)
    if cadence == Cadence.QUARTERLY:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise ValueError(f"unknown cadence {cadence!r}")


def next_start(cadence: str, start: date) -> date:
    if cadence == Cadence.DAILY:
        return start + timedelta(days=1)
    if cadence == Cadence.WEEKLY:
        return start + timedelta(days=7)
    months = 1 if cadence == Cadence.MONTHLY else 3
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def previous_start(cadence: str, start: date) -> date:
    return period_start(cadence, start - timedelta(days=1))


def period_end(cadence: str, start: date) -> date:
    """The last day of the period."""
    return next_start(cadence, start) - timedelta(days=1)


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def opens_at(cadence: str, start: date) -> datetime:
    return _local(start, opening_time(), local_zone())


def due_at(cadence: str, start: date, due_after: timedelta) -> datetime:
    """Local wall-clock time ``due_after`` after the first day's midnight (17h is 5 pm also on
    a day of 23 or 25 hours), and never sooner than an hour after the run opens."""
    zone = local_zone()
    wall = datetime.combine(start, time(0)) + due_after
    due = wall.replace(tzinfo=zone)
    return max(due, opens_at(cadence, start) + timedelta(hours=1))


def latest_opened_start(cadence: str, now: datetime) -> date:
    """The newest period whose opening time has passed at ``now``."""
    start = period_start(cadence, now.astimezone(local_zone()).date())
    if opens_at(cadence, start) > now:
        start = previous_start(cadence, start)
    return start


def starts_to_open(
    cadence: str, now: datetime, last_opened: date | None, catch_up: int
) -> list[date]:
    """The periods that should have a run at ``now``: the current one and, after downtime,
    the ones missed since ``last_opened`` (the newest existing run), at most ``catch_up`` in
    all. A panel with no run yet opens only the current period."""
    start = latest_opened_start(cadence, now)
    wanted = [start]
    if last_opened is not None:
        earlier = start
        while len(wanted) < catch_up:
            earlier = previous_start(cadence, earlier)
            if earlier <= last_opened:
                break
            wanted.append(earlier)
    return sorted(wanted)
