"""Business calendars: closed days and their reasons, both policies across year ends and DST
changes, interval and cron schedules, and a calendar that leaves no business day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tickwork.domain.business import BusinessSchedule, NoBusinessDay, at_wall
from tickwork.domain.calendars import (
    CalendarSpec,
    HolidaySet,
    business_days,
    validate_calendar,
)
from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import JobSpec, first_run
from tickwork.domain.schedules import parse_schedule
from tickwork.domain.scheduling import plan_ticks

BERLIN = ZoneInfo("Europe/Berlin")
DE_BY = validate_calendar(
    CalendarSpec(
        "de-business",
        holidays=HolidaySet("DE", "BY"),
        exclude_dates=(date(2026, 12, 24),),
    )
)
WEEKDAYS = validate_calendar(CalendarSpec("weekdays"))


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


def local(times: list[datetime], zone: ZoneInfo = BERLIN) -> list[str]:
    return [t.astimezone(zone).strftime("%Y-%m-%d %H:%M") for t in times]


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 12, 23), None),
        (date(2026, 12, 24), "excluded date"),
        (date(2026, 12, 25), "holiday: Christmas Day"),
        (date(2026, 12, 26), "holiday: Second Day of Christmas"),
        (date(2026, 12, 27), "weekend"),
        (date(2026, 6, 4), "holiday: Corpus Christi"),  # Bavaria's, not Germany's
        (date(2027, 1, 6), "holiday: Epiphany"),
    ],
)
def test_why_a_day_is_closed(day: date, reason: str | None) -> None:
    assert DE_BY.closed_reason(day) == reason


def test_an_included_date_wins_over_everything() -> None:
    cal = validate_calendar(
        CalendarSpec(
            "x",
            holidays=HolidaySet("DE"),
            exclude_dates=(date(2026, 12, 25),),
            include_dates=(date(2026, 12, 25), date(2026, 12, 27)),
        )
    )
    assert cal.closed_reason(date(2026, 12, 25)) is None  # holiday, excluded, included
    assert cal.closed_reason(date(2026, 12, 27)) is None  # a Sunday, included


def test_a_working_weekday_left_out_is_named() -> None:
    cal = validate_calendar(CalendarSpec("four-day", weekdays=(1, 2, 3, 4)))
    assert cal.closed_reason(date(2026, 12, 4)) == "not a working day (Friday)"


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        (CalendarSpec("x", weekdays=()), "weekdays", "no business day"),
        (CalendarSpec("x", weekdays=(0,)), "weekdays", "not an ISO weekday"),
        (CalendarSpec("x", weekdays=(1, 1)), "weekdays", "twice"),
        (CalendarSpec("x", holidays=HolidaySet("XX")), "holidays.country", "unknown country"),
        (
            CalendarSpec("x", holidays=HolidaySet("DE", "ZZ")),
            "holidays.subdivision",
            "not a subdivision of DE",
        ),
        (CalendarSpec("bad name!"), "name", "letters"),
        (CalendarSpec("x", namespace="Bad NS"), "namespace", ""),
    ],
)
def test_bad_calendars_name_the_field(spec: CalendarSpec, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_calendar(spec)
    assert caught.value.field == field
    assert words in caught.value.reason


def test_validation_normalises() -> None:
    cal = validate_calendar(
        CalendarSpec(
            "x",
            weekdays=(5, 1),
            holidays=HolidaySet("de", "by"),
            exclude_dates=(date(2026, 2, 1), date(2026, 1, 1), date(2026, 1, 1)),
        )
    )
    assert cal.weekdays == (1, 5)
    assert cal.holidays == HolidaySet("DE", "BY")
    assert cal.exclude_dates == (date(2026, 1, 1), date(2026, 2, 1))


# -- policies: unit tables -------------------------------------------------------------------

DAILY_9 = parse_schedule("0 9 * * *", "Europe/Berlin")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            "skip",
            ["2026-12-22 09:00", "2026-12-23 09:00", "2026-12-28 09:00", "2026-12-29 09:00",
             "2026-12-30 09:00", "2026-12-31 09:00", "2027-01-04 09:00", "2027-01-05 09:00",
             "2027-01-07 09:00"],
        ),
        (
            # Christmas Eve … Sunday collapse onto Monday 09:00, which fires once; New Year's
            # Day (Friday) and the weekend onto Monday 4 January; Epiphany onto the 7th
            "next_business_day",
            ["2026-12-22 09:00", "2026-12-23 09:00", "2026-12-28 09:00", "2026-12-29 09:00",
             "2026-12-30 09:00", "2026-12-31 09:00", "2027-01-04 09:00", "2027-01-05 09:00",
             "2027-01-07 09:00"],
        ),
    ],
)  # fmt: skip
def test_across_the_year_end(policy: str, expected: list[str]) -> None:
    bs = BusinessSchedule(DAILY_9, DE_BY, policy)  # type: ignore[arg-type]
    assert local(bs.fire_times(berlin(2026, 12, 21, 12), 9)) == expected


def test_moved_ticks_keep_their_own_time_of_day() -> None:
    """A Saturday-only 10:00 tick moves to Monday 10:00, beside Monday's own 08:00."""
    sched = parse_schedule("0 8 * * 1-5", "Europe/Berlin")
    sat = parse_schedule("0 10 * * 6", "Europe/Berlin")
    skip = BusinessSchedule(sat, WEEKDAYS, "skip")
    with pytest.raises(NoBusinessDay):  # Saturdays only, every Saturday closed
        skip.next_after(berlin(2026, 12, 1))
    moved = BusinessSchedule(sat, WEEKDAYS, "next_business_day")
    assert local(moved.fire_times(berlin(2026, 12, 1), 2)) == [
        "2026-12-07 10:00",
        "2026-12-14 10:00",
    ]
    assert local(BusinessSchedule(sched, WEEKDAYS).fire_times(berlin(2026, 12, 4, 12), 2)) == [
        "2026-12-07 08:00",
        "2026-12-08 08:00",
    ]


@pytest.mark.parametrize(
    ("policy", "after", "expected"),
    [
        # spring forward in Berlin: Sunday 29 March 2026, 02:00 → 03:00
        ("skip", berlin(2026, 3, 27, 3), ["2026-03-30 02:30", "2026-03-31 02:30"]),
        (
            # Saturday's 02:30 moves to Monday 02:30; Sunday's tick (cron fired it at 03:00,
            # the first valid instant after the gap) moves to Monday 03:00
            "next_business_day",
            berlin(2026, 3, 27, 3),
            ["2026-03-30 02:30", "2026-03-30 03:00", "2026-03-31 02:30"],
        ),
        # fall back: Sunday 25 October 2026, 03:00 → 02:00 (02:30 occurs twice)
        ("skip", berlin(2026, 10, 23, 3), ["2026-10-26 02:30", "2026-10-27 02:30"]),
        (
            "next_business_day",
            berlin(2026, 10, 23, 3),
            ["2026-10-26 02:30", "2026-10-27 02:30", "2026-10-28 02:30"],
        ),
    ],
)
def test_across_dst_changes(policy: str, after: datetime, expected: list[str]) -> None:
    bs = BusinessSchedule(parse_schedule("30 2 * * *", "Europe/Berlin"), WEEKDAYS, policy)  # type: ignore[arg-type]
    assert local(bs.fire_times(after, len(expected))) == expected


def test_a_tick_moved_into_a_gap_fires_at_the_first_valid_instant() -> None:
    """A Saturday 02:30 tick moved to a business Sunday whose 02:30 does not exist."""
    cal = validate_calendar(CalendarSpec("sundays", weekdays=(7,)))
    sched = parse_schedule("30 2 * * 6", "Europe/Berlin")
    bs = BusinessSchedule(sched, cal, "next_business_day")
    [fire] = bs.fire_times(berlin(2026, 3, 27), 1)
    assert fire == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST, the jump
    assert at_wall(BERLIN, date(2026, 10, 25), datetime(2000, 1, 1, 2, 30).time()) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )  # a fold: the first 02:30 (CEST)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("skip", ["2026-12-04 22:17", "2026-12-04 23:17", "2026-12-07 00:17", "2026-12-07 01:17"]),
        (
            "next_business_day",
            ["2026-12-04 22:17", "2026-12-04 23:17", "2026-12-07 00:17", "2026-12-07 01:17"],
        ),
    ],
)
def test_an_interval_keeps_its_phase(policy: str, expected: list[str]) -> None:
    bs = BusinessSchedule(parse_schedule("1h"), WEEKDAYS, policy)  # type: ignore[arg-type]
    start = datetime(2026, 12, 4, 21, 17, tzinfo=UTC)  # a Friday
    assert local(bs.fire_times(start, 4), ZoneInfo("UTC")) == expected


def test_an_interval_longer_than_a_day_moves_to_monday() -> None:
    bs = BusinessSchedule(parse_schedule("every 2d"), WEEKDAYS, "next_business_day")
    start = datetime(2026, 12, 3, 9, tzinfo=UTC)  # Thursday → Sat 5th (closed) → Mon 7th
    assert local(bs.fire_times(start, 3), ZoneInfo("UTC")) == [
        "2026-12-07 09:00",  # Saturday's tick moved onto Monday's own: once
        "2026-12-09 09:00",
        "2026-12-11 09:00",
    ]
    skip = BusinessSchedule(parse_schedule("every 2d"), WEEKDAYS, "skip")
    assert local(skip.fire_times(start, 3), ZoneInfo("UTC")) == [
        "2026-12-07 09:00",  # the next tick of the same phase on a business day
        "2026-12-09 09:00",
        "2026-12-11 09:00",
    ]


@pytest.mark.parametrize("policy", ["skip", "next_business_day"])
@pytest.mark.parametrize("expression", ["0 9 * * *", "* * * * *", "5m", "every 3d"])
def test_a_calendar_with_no_business_day_is_refused(policy: str, expression: str) -> None:
    """weekdays [] with only past include_dates: no business day ahead, so a clear error
    after a bounded search (2 years), never an endless loop."""
    none = CalendarSpec("never", weekdays=(), include_dates=(date(2020, 1, 1),))
    bs = BusinessSchedule(parse_schedule(expression, "Europe/Berlin"), none, policy)  # type: ignore[arg-type]
    with pytest.raises(NoBusinessDay) as caught:
        bs.next_after(berlin(2026, 6, 1))
    assert caught.value.field == "calendar"
    assert "calendar 'never' has no" in caught.value.reason
    assert "within 732 days" in caught.value.reason


def test_a_calendar_that_excludes_every_date_for_two_years_is_refused() -> None:
    days = tuple(date(2026, 6, 1) + timedelta(days=i) for i in range(800))
    cal = validate_calendar(CalendarSpec("shut", weekdays=(1, 2, 3, 4, 5, 6, 7)))
    shut = CalendarSpec("shut", weekdays=cal.weekdays, exclude_dates=days)
    with pytest.raises(NoBusinessDay):
        BusinessSchedule(DAILY_9, shut).next_after(berlin(2026, 6, 1))


def test_a_one_time_schedule() -> None:
    sat = parse_schedule("2026-12-05T09:00:00+01:00", "Europe/Berlin")  # a Saturday
    assert BusinessSchedule(sat, WEEKDAYS, "skip").next_after(berlin(2026, 12, 1)) is None
    moved = BusinessSchedule(sat, WEEKDAYS, "next_business_day")
    assert moved.next_after(berlin(2026, 12, 1)) == berlin(2026, 12, 7, 9)
    assert moved.next_after(berlin(2026, 12, 7, 9)) is None


def test_first_run_honours_the_calendar() -> None:
    spec = JobSpec(
        name="j",
        type="shell",
        command="true",
        schedule="0 9 * * *",
        timezone="Europe/Berlin",
        calendar="de-business",
    )
    now = berlin(2026, 12, 23, 10)
    assert first_run(spec, job_id="job-x", now=now) == berlin(2026, 12, 24, 9)  # no calendar
    assert first_run(spec, job_id="job-x", now=now, calendar=DE_BY) == berlin(2026, 12, 28, 9)


# -- what the scheduler records --------------------------------------------------------------


def test_the_scheduler_records_each_closed_day_with_its_reason() -> None:
    bs = BusinessSchedule(DAILY_9, DE_BY, "skip")
    due = berlin(2026, 12, 28, 9)
    plan = plan_ticks(bs, due=due, now=due, catchup="latest", grace=60, limit=10)
    assert plan.fire == [due]
    assert [(local([t])[0], why) for t, why in plan.skipped] == [
        ("2026-12-24 09:00", "excluded date"),
        ("2026-12-25 09:00", "holiday: Christmas Day"),
        ("2026-12-26 09:00", "holiday: Second Day of Christmas"),
        ("2026-12-27 09:00", "weekend"),
    ]
    assert plan.skipped_total == 4
    assert plan.next_nominal == berlin(2026, 12, 29, 9)


def test_moved_ticks_are_recorded_with_where_they_went() -> None:
    bs = BusinessSchedule(DAILY_9, WEEKDAYS, "next_business_day")
    due = berlin(2026, 12, 7, 9)
    plan = plan_ticks(bs, due=due, now=due, catchup="latest", grace=60, limit=10)
    assert [why for _, why in plan.skipped] == [
        "weekend; moved to 2026-12-07",
        "weekend; moved to 2026-12-07",
    ]


def test_skips_before_since_are_not_recorded_and_later_ticks_report_nothing() -> None:
    bs = BusinessSchedule(DAILY_9, WEEKDAYS, "skip")
    due = berlin(2026, 12, 7, 9)
    since = berlin(2026, 12, 6, 12)  # the job was made on Sunday
    plan = plan_ticks(bs, due=due, now=due, catchup="latest", grace=60, limit=10, since=since)
    assert plan.skipped == []
    assert bs.closed_before(berlin(2026, 12, 8, 9)) == []  # Tuesday: no closed day before


def test_catchup_counts_business_ticks_only() -> None:
    """Down from Friday 09:00 to Monday 09:00:30: the missed ticks are Friday's only."""
    bs = BusinessSchedule(DAILY_9, WEEKDAYS, "skip")
    due = berlin(2026, 12, 4, 9)
    now = berlin(2026, 12, 7, 9) + timedelta(seconds=30)
    plan = plan_ticks(bs, due=due, now=now, catchup="all", grace=60, limit=10)
    assert plan.fire == [due, berlin(2026, 12, 7, 9)]
    assert [why for _, why in plan.skipped] == ["weekend", "weekend"]


def test_preview_lists_skipped_days_with_counts() -> None:
    bs = BusinessSchedule(parse_schedule("0 * * * *", "Europe/Berlin"), WEEKDAYS, "skip")
    ticks = bs.preview(berlin(2026, 12, 4, 22, 30), 2)
    assert [(local([t.at])[0], t.fires, t.reason, t.count) for t in ticks] == [
        ("2026-12-04 23:00", True, None, 1),
        ("2026-12-05 00:00", False, "weekend", 24),
        ("2026-12-06 00:00", False, "weekend", 24),
        ("2026-12-07 00:00", True, None, 1),
    ]


def test_business_days_lists_the_coming_days() -> None:
    days = business_days(DE_BY, date(2026, 12, 24), 4)
    assert [(d.day.day, d.business, d.reason) for d in days] == [
        (24, False, "excluded date"),
        (25, False, "holiday: Christmas Day"),
        (26, False, "holiday: Second Day of Christmas"),
        (27, False, "weekend"),
    ]
