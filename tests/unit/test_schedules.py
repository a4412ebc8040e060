"""Schedules: cron (cronsim, DST), intervals, one-time instants, classification and rejection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickwork.domain.errors import ValidationError
from tickwork.domain.schedules import (
    Schedule,
    parse_duration,
    parse_schedule,
    schedule_kind,
    validate_timezone,
)

NY = "America/New_York"
BERLIN = "Europe/Berlin"


def u(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def jan(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return u(2026, 1, day, hour, minute)


# (id, expression, timezone, after, expected next fire times in UTC)
CRON_CASES: list[tuple[str, str, str, datetime, list[datetime]]] = [
    ("every-minute", "* * * * *", "UTC", jan(1, 0, 0), [jan(1, 0, 1), jan(1, 0, 2), jan(1, 0, 3)]),
    ("step-minutes", "*/15 * * * *", "UTC", jan(1, 0, 7),
     [jan(1, 0, 15), jan(1, 0, 30), jan(1, 0, 45), jan(1, 1, 0)]),
    ("step-hours", "0 */6 * * *", "UTC", jan(1, 1), [jan(1, 6), jan(1, 12), jan(1, 18), jan(2)]),
    ("range-step", "10-50/20 * * * *", "UTC", jan(1),
     [jan(1, 0, 10), jan(1, 0, 30), jan(1, 0, 50), jan(1, 1, 10)]),
    ("minute-range", "5-7 12 * * *", "UTC", jan(1),
     [jan(1, 12, 5), jan(1, 12, 6), jan(1, 12, 7), jan(2, 12, 5)]),
    ("list-strictly-after", "0,30 9 * * *", "UTC", jan(1, 9),
     [jan(1, 9, 30), jan(2, 9), jan(2, 9, 30)]),
    ("day-of-month-step", "0 0 */10 * *", "UTC", jan(1),
     [jan(11), jan(21), jan(31), u(2026, 2, 1)]),
    ("weekday-names", "0 9 * * mon-fri", "UTC", jan(2, 10), [jan(5, 9), jan(6, 9), jan(7, 9)]),
    ("month-name", "0 0 1 jan *", "UTC", jan(1), [u(2027, 1, 1), u(2028, 1, 1)]),
    ("months-and-weekday-and", "0 12 * jan,jul sun", "UTC", jan(1),
     [jan(4, 12), jan(11, 12), jan(18, 12), jan(25, 12), u(2026, 7, 5, 12)]),
    ("sunday-as-7", "0 0 * * 7", "UTC", jan(1), [jan(4), jan(11)]),
    ("sunday-as-0", "0 0 * * 0", "UTC", jan(1), [jan(4), jan(11)]),
    ("dom-or-dow", "0 0 13 * 5", "UTC", jan(1), [jan(2), jan(9), jan(13), jan(16), jan(23)]),
    ("friday-13th-fires-once", "0 0 13 * 5", "UTC", u(2026, 2, 1),
     [u(2026, 2, 6), u(2026, 2, 13), u(2026, 2, 20)]),
    ("dom-range-or-monday", "0 0 1-7 * 1", "UTC", jan(8),
     [jan(12), jan(19), jan(26), u(2026, 2, 1), u(2026, 2, 2), u(2026, 2, 3)]),
    ("feb-29", "0 0 29 2 *", "UTC", jan(1), [u(2028, 2, 29), u(2032, 2, 29)]),
    ("day-31-skips-short-months", "0 0 31 * *", "UTC", jan(1),
     [jan(31), u(2026, 3, 31), u(2026, 5, 31)]),
    ("last-day-extension", "0 0 L * *", "UTC", u(2026, 2, 1), [u(2026, 2, 28), u(2026, 3, 31)]),
    ("@hourly", "@hourly", "UTC", jan(1, 0, 30), [jan(1, 1), jan(1, 2)]),
    ("@daily", "@daily", "UTC", jan(1), [jan(2), jan(3)]),
    ("@midnight", "@midnight", "UTC", jan(1), [jan(2), jan(3)]),
    ("@weekly", "@weekly", "UTC", jan(1), [jan(4), jan(11)]),
    ("@monthly", "@monthly", "UTC", jan(1), [u(2026, 2, 1), u(2026, 3, 1)]),
    ("@yearly", "@yearly", "UTC", jan(1), [u(2027, 1, 1), u(2028, 1, 1)]),
    ("@annually", "@ANNUALLY", "UTC", jan(1), [u(2027, 1, 1), u(2028, 1, 1)]),
    ("half-hour-offset-zone", "0 9 * * *", "Asia/Kolkata", jan(1), [jan(1, 3, 30), jan(2, 3, 30)]),
    ("new-york-winter", "0 9 * * *", NY, jan(1), [jan(1, 14), jan(2, 14)]),
    ("new-york-across-spring", "0 9 * * *", NY, u(2026, 3, 7),
     [u(2026, 3, 7, 14), u(2026, 3, 8, 13), u(2026, 3, 9, 13)]),
    # 02:30 does not exist on 2026-03-08 in New York: fires at 03:00 EDT (07:00 UTC).
    ("new-york-spring-gap", "30 2 * * *", NY, u(2026, 3, 7, 12),
     [u(2026, 3, 8, 7), u(2026, 3, 9, 6, 30), u(2026, 3, 10, 6, 30)]),
    # 01:30 happens twice on 2026-11-01 in New York: fires once, at the first (EDT) one.
    ("new-york-fall-fold", "30 1 * * *", NY, u(2026, 10, 31, 12),
     [u(2026, 11, 1, 5, 30), u(2026, 11, 2, 6, 30), u(2026, 11, 3, 6, 30)]),
    # Starting inside the fold's second pass (01:15 EST): the 01:30 EST repeat is not fired.
    ("new-york-fold-second-pass", "30 1 * * *", NY, u(2026, 11, 1, 6, 15),
     [u(2026, 11, 2, 6, 30), u(2026, 11, 3, 6, 30)]),
    ("berlin-spring-gap", "30 2 * * *", BERLIN, u(2026, 3, 28, 12),
     [u(2026, 3, 29, 1), u(2026, 3, 30, 0, 30), u(2026, 3, 31, 0, 30)]),
    ("berlin-spring-gap-on-the-hour", "0 2 * * *", BERLIN, u(2026, 3, 28, 12),
     [u(2026, 3, 29, 1), u(2026, 3, 30, 0)]),
    ("berlin-fall-fold", "30 2 * * *", BERLIN, u(2026, 10, 24, 12),
     [u(2026, 10, 25, 0, 30), u(2026, 10, 26, 1, 30), u(2026, 10, 27, 1, 30)]),
    # Wildcard hour or minute: no DST fix-up (Debian cron), the job runs on real elapsed time.
    ("new-york-hourly-spring", "0 * * * *", NY, u(2026, 3, 8, 5, 30),
     [u(2026, 3, 8, 6), u(2026, 3, 8, 7), u(2026, 3, 8, 8)]),
    ("new-york-hourly-fall", "0 * * * *", NY, u(2026, 11, 1, 4, 30),
     [u(2026, 11, 1, 5), u(2026, 11, 1, 6), u(2026, 11, 1, 7)]),
    ("new-york-wildcard-minute-gap-skipped", "*/15 2 * * *", NY, u(2026, 3, 8, 5),
     [u(2026, 3, 9, 6), u(2026, 3, 9, 6, 15)]),
    ("new-york-wildcard-minute-fold-twice", "*/30 1 * * *", NY, u(2026, 11, 1, 4),
     [u(2026, 11, 1, 5), u(2026, 11, 1, 5, 30), u(2026, 11, 1, 6), u(2026, 11, 1, 6, 30),
      u(2026, 11, 2, 6)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("expression", "timezone", "after", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CRON_CASES],
)
def test_cron_fire_times(
    expression: str, timezone: str, after: datetime, expected: list[datetime]
) -> None:
    schedule = parse_schedule(expression, timezone)
    assert schedule.kind == "cron"
    assert schedule.fire_times(after, len(expected)) == expected
    assert schedule.next_after(after) == expected[0]


def test_cron_table_is_big_enough() -> None:
    assert len(CRON_CASES) >= 30


def test_fire_times_are_utc() -> None:
    times = parse_schedule("30 2 * * *", BERLIN).fire_times(u(2026, 3, 28), 3)
    assert all(t.tzinfo is UTC for t in times)


def test_after_in_another_zone_is_compared_as_an_instant() -> None:
    schedule = parse_schedule("0 9 * * *", NY)
    nine_local = datetime(2026, 1, 1, 9, tzinfo=ZoneInfo(NY))
    assert schedule.next_after(nine_local) == jan(2, 14)
    assert schedule.next_after(nine_local - timedelta(microseconds=1)) == jan(1, 14)


def test_sub_second_after_is_respected() -> None:
    after = datetime(2026, 1, 1, 0, 0, 59, 999_999, tzinfo=UTC)
    assert parse_schedule("* * * * *").next_after(after) == jan(1, 0, 1)


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        parse_schedule("@daily").next_after(datetime(2026, 1, 1))


def test_fire_times_zero_and_negative() -> None:
    schedule = parse_schedule("@daily")
    assert schedule.fire_times(jan(1), 0) == []
    with pytest.raises(ValueError, match="negative"):
        schedule.fire_times(jan(1), -1)


def test_cron_keeps_expression_as_given_and_has_no_interval() -> None:
    schedule = parse_schedule("  @daily ", NY)
    assert schedule == Schedule("cron", "@daily", NY)
    assert schedule.expression == "@daily"
    assert schedule.timezone == NY
    assert schedule.interval is None


# --- intervals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("1s", timedelta(seconds=1)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1d", timedelta(days=1)),
        ("2w", timedelta(weeks=2)),
        ("every 5m", timedelta(minutes=5)),
        ("Every  10s", timedelta(seconds=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("5 minutes", timedelta(minutes=5)),
        ("90s", timedelta(seconds=90)),
        ("PT5M", timedelta(minutes=5)),
        ("P1D", timedelta(days=1)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P2W", timedelta(weeks=2)),
        ("pt45s", timedelta(seconds=45)),
        ("every PT1H", timedelta(hours=1)),
        ("3650d", timedelta(days=3650)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    schedule = parse_schedule(text)
    assert schedule.kind == "interval"
    assert schedule.interval == expected


def test_interval_next_after_and_fire_times_stay_anchored() -> None:
    schedule = parse_schedule("every 5m", NY)
    after = datetime(2026, 1, 1, 9, 2, 30, tzinfo=ZoneInfo(NY))
    assert schedule.next_after(after) == jan(1, 14, 7) + timedelta(seconds=30)
    times = schedule.fire_times(jan(1), 3)
    assert times == [jan(1, 0, 5), jan(1, 0, 10), jan(1, 0, 15)]
    assert all(t.tzinfo is UTC for t in times)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0s", "at least 1 second"),
        ("PT0S", "at least 1 second"),
        ("-5m", "must be positive"),
        ("every -1h", "must be positive"),
        ("5x", "unknown unit 'x'"),
        ("1h1h", "unit 'h' repeated"),
        ("every garbage", "invalid duration 'garbage'"),
        ("every ", "empty duration"),
        ("P1Y", "years and months are not fixed lengths"),
        ("P1M", "years and months are not fixed lengths"),
        ("P1Y2M3DT4H", "years and months are not fixed lengths"),
        ("PT0.5S", "invalid ISO-8601 duration"),
        ("P", "invalid ISO-8601 duration"),
        ("PT", "invalid ISO-8601 duration"),
        ("3651d", "longer than 3650 days"),
        ("99999999999999999999d", "longer than 3650 days"),
    ],
)
def test_bad_intervals_are_rejected(text: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as caught:
        parse_schedule(text)
    assert caught.value.field == "schedule"
    assert reason in caught.value.reason


def test_parse_duration_rejects_cron() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_duration("0 0 * * *")
    assert caught.value.field == "schedule"


# --- one-time ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-12-01T09:00:00Z", u(2026, 12, 1, 9)),
        ("2026-12-01T09:00:00+02:00", u(2026, 12, 1, 7)),
        ("2026-12-01 09:00-05:00", u(2026, 12, 1, 14)),
    ],
)
def test_once(text: str, instant: datetime) -> None:
    schedule = parse_schedule(text, BERLIN)
    assert schedule.kind == "once"
    assert schedule.interval is None
    assert schedule.next_after(instant - timedelta(seconds=1)) == instant
    assert schedule.next_after(instant) is None
    assert schedule.fire_times(jan(1), 5) == [instant]
    assert schedule.fire_times(instant, 5) == []
    first = schedule.next_after(instant - timedelta(days=1))
    assert first is not None
    assert first.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-12-01T09:00:00", "add an offset such as Z"),
        ("2026-12-01", "add an offset such as Z"),
        ("2026-13-01T09:00:00Z", "month must be in 1..12"),
        ("2026-12-01T25:00:00Z", "not an ISO-8601 datetime"),
        ("2026-12-01Tnine", "'2026-12-01Tnine' is not an ISO-8601 datetime; e.g. 2026-"),
    ],
)
def test_bad_once_is_rejected(text: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_schedule(text)
    assert caught.value.field == "schedule"
    assert reason in caught.value.reason


def test_once_still_validates_timezone() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_schedule("2026-12-01T09:00:00Z", "Nowhere/Land")
    assert caught.value.field == "timezone"


# --- cron rejection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("0 0 30 2 *", "never fires: day 30 does not occur in month 2"),
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("0 0 0 * * *", "expected 5 fields"),
        ("0 0 0 * * *", "a seconds field is not supported"),
        ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("garbage", "expected 5 fields"),
        ("61 * * * *", "bad minute field '61' (allowed 0-59)"),
        ("0 24 * * *", "bad hour field '24'"),
        ("0 0 0 * *", "bad day-of-month field '0'"),
        ("0 0 5-1 * *", "bad day-of-month field '5-1'"),
        ("0 0 1 13 *", "bad month field '13'"),
        ("0 0 * foo *", "bad month field 'foo'"),
        ("0 0 * * 8", "bad day-of-week field '8'"),
        ("*/0 * * * *", "bad minute field '*/0'"),
        ("@reboot", "unknown shorthand '@reboot'"),
        ("", "expected 5 fields"),
    ],
)
def test_bad_cron_is_rejected(expression: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_schedule(expression)
    assert caught.value.field == "schedule"
    assert reason in caught.value.reason


# --- classification, time zones, construction --------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "kind"),
    [
        ("0 9 * * mon-fri", "cron"),
        ("@daily", "cron"),
        ("0 0 1 jan mon", "cron"),
        ("not a schedule", "cron"),
        ("5m", "interval"),
        ("every 1h30m", "interval"),
        ("1 h 30 m", "interval"),
        ("PT5M", "interval"),
        ("every garbage", "interval"),
        ("-5m", "interval"),
        ("2026-12-01T09:00:00Z", "once"),
        ("2026-12-01T09:00:00", "once"),
        ("2026-13-45T09:00:00Z", "once"),
    ],
)
def test_schedule_kind(expression: str, kind: str) -> None:
    assert schedule_kind(expression) == kind


@pytest.mark.parametrize("name", ["UTC", NY, BERLIN, "Asia/Kolkata", "Etc/GMT+5"])
def test_validate_timezone_accepts_iana_names(name: str) -> None:
    assert validate_timezone(name) == ZoneInfo(name)


@pytest.mark.parametrize(
    "name", ["Mars/Olympus", "utc", "", "America", "/etc/passwd", "../zoneinfo", "localtime"]
)
def test_validate_timezone_rejects_unknown(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_timezone(name)
    assert caught.value.field == "timezone"
    assert caught.value.reason == f"unknown time zone {name!r}"


def test_parse_schedule_rejects_unknown_timezone() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_schedule("@daily", "Mars/Olympus")
    assert caught.value.field == "timezone"
    assert caught.value.reason == "unknown time zone 'Mars/Olympus'"


def test_default_timezone_is_utc() -> None:
    assert parse_schedule("@daily").timezone == "UTC"


def test_direct_construction_validates() -> None:
    with pytest.raises(ValidationError, match="bad minute"):
        Schedule("cron", "99 * * * *", "UTC")
    with pytest.raises(ValidationError, match="unknown schedule kind"):
        Schedule("weekly", "5m", "UTC")  # type: ignore[arg-type]
    assert Schedule("interval", "5m").interval == timedelta(minutes=5)


def test_schedule_is_frozen_and_hashable() -> None:
    schedule = parse_schedule("5m")
    assert {schedule, parse_schedule("5m")} == {schedule}
    with pytest.raises(AttributeError):
        schedule.expression = "10m"  # type: ignore[misc]


# --- properties --------------------------------------------------------------------------------


def _cron_field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        value.map(str),
        st.integers(1, high - low + 1).map(lambda step: f"*/{step}"),
        st.tuples(value, value).map(lambda ab: f"{min(ab)}-{max(ab)}"),
        st.lists(value, min_size=2, max_size=4, unique=True).map(lambda vs: ",".join(map(str, vs))),
        st.tuples(value, value, st.integers(1, 10)).map(
            lambda abn: f"{min(abn[:2])}-{max(abn[:2])}/{abn[2]}"
        ),
    )


CRON_EXPRESSIONS = st.tuples(
    _cron_field(0, 59),
    _cron_field(0, 23),
    _cron_field(1, 28),  # days every month has, so each generated expression fires
    _cron_field(1, 12),
    _cron_field(0, 7),
).map(" ".join)
ZONES = st.sampled_from(["UTC", NY, BERLIN, "Australia/Lord_Howe", "Asia/Kolkata"])
STARTS = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2090, 1, 1),
    timezones=st.sampled_from([UTC, ZoneInfo(NY), ZoneInfo(BERLIN)]),
    allow_imaginary=False,
)


@settings(max_examples=300, deadline=None)
@given(expression=CRON_EXPRESSIONS, timezone=ZONES, after=STARTS)
def test_cron_fire_times_increase_strictly_in_utc(
    expression: str, timezone: str, after: datetime
) -> None:
    times = parse_schedule(expression, timezone).fire_times(after, 6)
    assert len(times) == 6
    assert all(t.tzinfo is UTC for t in times)
    assert times[0] > after
    assert all(a < b for a, b in pairwise(times))


@settings(max_examples=300, deadline=None)
@given(
    expression=st.one_of(
        st.text(max_size=30),
        st.lists(st.sampled_from(["*", "*/2", "1-5", "L", "LW", "5L", "1#2", "MON", "0", "x"]),
                 max_size=7).map(" ".join),
    )
)  # fmt: skip
def test_any_text_parses_or_raises_validation_error(expression: str) -> None:
    try:
        schedule = parse_schedule(expression)
    except ValidationError as exc:
        assert exc.field == "schedule"
        assert exc.reason
    else:
        assert schedule.kind == schedule_kind(expression)
