"""Periods open exactly once, at the configured local time, across day, week, month, quarter
and daylight-saving boundaries, and missed periods open after downtime."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError

from checklists import periods
from checklists.actions import open_runs
from checklists.choices import Cadence
from checklists.models import ChecklistRun
from checklists.tasks import open_runs as open_runs_task

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def starts(cadence: str) -> list[date]:
    return sorted(
        ChecklistRun.objects.filter(cadence=cadence).values_list("period_start", flat=True)
    )


@pytest.fixture
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    settings.CHECKLIST_DAILY_AT = "08:00"


def test_it_opens_the_four_current_runs_once_however_often_beat_ticks(
    templates, django_assert_max_num_queries
):
    # One frozen instant for opening the runs and for "today": a UTC midnight in between
    # would open them on one day and compare with the next.
    with time_machine.travel(datetime.now(UTC), tick=False):
        runs = {run.cadence: run for run in open_runs()}
        assert set(runs) == set(Cadence.values)
        open_runs_task.apply()
        with django_assert_max_num_queries(20):
            assert open_runs() == []
        today = datetime.now(UTC).date()
    assert ChecklistRun.objects.count() == 4
    assert runs[Cadence.DAILY].period_start == today
    assert runs[Cadence.WEEKLY].period_start.weekday() == 0
    assert runs[Cadence.MONTHLY].period_start == today.replace(day=1)
    assert runs[Cadence.QUARTERLY].period_start.month in (1, 4, 7, 10)
    assert runs[Cadence.DAILY].items.count() == 4


def test_it_opens_the_daily_run_at_the_configured_local_time(templates, berlin):
    # 07:59 in Berlin (winter, UTC+1) is 06:59 UTC: yesterday's run is the current one.
    with time_machine.travel(datetime(2026, 1, 14, 6, 59, tzinfo=UTC), tick=False):
        open_runs()
    assert starts(Cadence.DAILY) == [date(2026, 1, 13)]
    with time_machine.travel(datetime(2026, 1, 14, 7, 0, tzinfo=UTC), tick=False):
        opened = open_runs()
    assert starts(Cadence.DAILY) == [date(2026, 1, 13), date(2026, 1, 14)]
    assert [r.cadence for r in opened] == [Cadence.DAILY]
    run = ChecklistRun.objects.get(cadence=Cadence.DAILY, period_start=date(2026, 1, 14))
    # due 17h after local midnight: 17:00 Berlin
    assert run.due_at.astimezone(BERLIN) == datetime(2026, 1, 14, 17, 0, tzinfo=BERLIN)


def test_it_opens_week_month_and_quarter_on_their_first_day(templates, berlin):
    # Sunday 2026-03-29 23:00 UTC is Monday 01:00 in Berlin, before 08:00: nothing new yet.
    with time_machine.travel(datetime(2026, 3, 31, 5, 0, tzinfo=UTC), tick=False):
        open_runs()
    assert starts(Cadence.WEEKLY) == [date(2026, 3, 30)]
    assert starts(Cadence.MONTHLY) == [date(2026, 3, 1)]
    assert starts(Cadence.QUARTERLY) == [date(2026, 1, 1)]
    # Wednesday 1 April 2026, 08:00 Berlin (summer time, UTC+2): a new month and quarter.
    with time_machine.travel(datetime(2026, 4, 1, 5, 59, tzinfo=UTC), tick=False):
        assert {r.cadence for r in open_runs()} == {Cadence.DAILY}  # 31 March's daily
    with time_machine.travel(datetime(2026, 4, 1, 6, 0, tzinfo=UTC), tick=False):
        opened = {r.cadence: r for r in open_runs()}
    assert set(opened) == {Cadence.DAILY, Cadence.MONTHLY, Cadence.QUARTERLY}
    assert opened[Cadence.QUARTERLY].period_start == date(2026, 4, 1)
    assert opened[Cadence.QUARTERLY].period_end == date(2026, 6, 30)
    assert opened[Cadence.MONTHLY].period_end == date(2026, 4, 30)
    # the next Monday opens the next week
    with time_machine.travel(datetime(2026, 4, 6, 6, 0, tzinfo=UTC), tick=False):
        open_runs()
    assert starts(Cadence.WEEKLY)[-1] == date(2026, 4, 6)


def test_it_opens_the_year_s_first_quarter_on_the_first_of_january(templates, settings):
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(datetime(2026, 12, 31, 12, 0, tzinfo=UTC), tick=False):
        open_runs()
    with time_machine.travel(datetime(2027, 1, 1, 0, 0, tzinfo=UTC), tick=False):
        opened = {r.cadence for r in open_runs()}
    assert opened == set(Cadence.values) - {Cadence.WEEKLY}  # 2027-01-01 is a Friday
    assert starts(Cadence.QUARTERLY) == [date(2026, 10, 1), date(2027, 1, 1)]


@pytest.mark.parametrize(
    ("day", "before", "after"),
    [
        # spring forward: 02:00 -> 03:00; a 02:30 opening happens at 03:30 CEST (01:30 UTC)
        (
            date(2026, 3, 29),
            datetime(2026, 3, 29, 1, 29, tzinfo=UTC),
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        ),
        # fall back: 03:00 -> 02:00; the first 02:30 (CEST, 00:30 UTC) opens it, once
        (
            date(2026, 10, 25),
            datetime(2026, 10, 25, 0, 29, tzinfo=UTC),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),
    ],
)
def test_it_opens_once_across_daylight_saving_changes(templates, settings, day, before, after):
    settings.TIME_ZONE = "Europe/Berlin"
    settings.CHECKLIST_DAILY_AT = "02:30"
    with time_machine.travel(before, tick=False):
        open_runs()
    assert day not in starts(Cadence.DAILY)
    with time_machine.travel(after, tick=False):
        open_runs()
    # an hour later the repeated 02:30 (CET) comes round: still one run
    with time_machine.travel(after + timedelta(hours=1), tick=False):
        assert open_runs() == []
    assert starts(Cadence.DAILY).count(day) == 1
    run = ChecklistRun.objects.get(cadence=Cadence.DAILY, period_start=day)
    assert run.due_at.astimezone(ZoneInfo("Europe/Berlin")).hour == 17


def test_it_opens_missed_periods_after_downtime_within_the_bound(templates, settings):
    settings.TIME_ZONE = "UTC"
    settings.CHECKLIST_CATCH_UP = 3
    with time_machine.travel(datetime(2026, 5, 4, 9, 0, tzinfo=UTC), tick=False):
        open_runs()
    # down from Monday 4 May to Thursday 14 May: ten days missed, three opened
    with time_machine.travel(datetime(2026, 5, 14, 9, 0, tzinfo=UTC), tick=False):
        open_runs()
    assert starts(Cadence.DAILY) == [
        date(2026, 5, 4), date(2026, 5, 12), date(2026, 5, 13), date(2026, 5, 14)
    ]  # fmt: skip
    assert starts(Cadence.WEEKLY) == [date(2026, 5, 4), date(2026, 5, 11)]
    assert starts(Cadence.MONTHLY) == [date(2026, 5, 1)]


def test_it_lets_the_database_decide_when_two_processes_open_the_same_period(templates):
    from checklists.actions import _open_run
    from checklists.models import ChecklistTemplate

    template = ChecklistTemplate.objects.get(cadence=Cadence.DAILY)
    now = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
    assert _open_run(template, date(2026, 6, 2), now) is not None
    # the loser of the race hits the unique constraint and steps aside without an error
    assert _open_run(template, date(2026, 6, 2), now) is None
    with pytest.raises(IntegrityError):
        ChecklistRun.objects.create(
            cadence=Cadence.DAILY,
            period_start=date(2026, 6, 2),
            period_end=date(2026, 6, 2),
            title="again",
            due_at=now,
        )


def test_it_computes_period_boundaries():
    assert periods.period_start(Cadence.WEEKLY, date(2026, 1, 1)) == date(2025, 12, 29)
    assert periods.period_start(Cadence.QUARTERLY, date(2026, 12, 31)) == date(2026, 10, 1)
    assert periods.next_start(Cadence.QUARTERLY, date(2026, 10, 1)) == date(2027, 1, 1)
    assert periods.period_end(Cadence.MONTHLY, date(2028, 2, 1)) == date(2028, 2, 29)


def test_it_gives_a_run_opened_late_its_full_time(templates, settings):
    """A first start at noon: the daily run (normally 00:00 to 17:00) is due 17 hours after
    it actually opened, not overdue on arrival."""
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(datetime(2026, 7, 8, 18, 0, tzinfo=UTC), tick=False):
        opened = {r.cadence: r for r in open_runs()}
    assert opened[Cadence.DAILY].due_at == datetime(2026, 7, 9, 11, 0, tzinfo=UTC)
    assert not ChecklistRun.objects.overdue(datetime(2026, 7, 9, 10, 0, tzinfo=UTC)).exists()
