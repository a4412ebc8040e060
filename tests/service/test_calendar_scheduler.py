"""The scheduler under business calendars, with a fake clock: closed days' ticks are skipped
(recorded with the reason) or moved, and a calendar's change moves its jobs' next_run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from tickwork.config import Settings
from tickwork.domain.calendars import CalendarSpec, HolidaySet
from tickwork.domain.clock import FakeClock
from tickwork.domain.errors import Conflict, ValidationError
from tickwork.domain.queries import RunFilter
from tickwork.service.container import Container
from tickwork.testing import job_spec

FRIDAY_NOON = datetime(2026, 12, 18, 12, tzinfo=UTC)
DE = CalendarSpec(
    "de-business", holidays=HolidaySet("DE", "BY"), exclude_dates=(date(2026, 12, 24),)
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(FRIDAY_NOON)


@pytest.fixture
async def app(db_url: str, clock: FakeClock) -> AsyncIterator[Container]:
    c = Container(Settings(database_url=db_url, misfire_grace=60, schedule_ahead=0), clock=clock)
    await c.start(background=False)
    yield c
    await c.stop()


async def fired(c: Container, name: str) -> list[str]:
    job = await c.jobs.get(name)
    runs, _, _ = await c.runs.list_runs(RunFilter(job_id=job.id), limit=100, cursor=None)
    return sorted(r.scheduled_for.strftime("%m-%d %H:%M") for r in runs if r.scheduled_for)


async def skips(c: Container) -> list[tuple[str, str]]:
    events = await c.store.events.since(0, limit=1000)
    return [
        (e.data["scheduled_for"][5:16].replace("T", " "), e.data["reason"])
        for e in events
        if e.type == "run.skipped"
    ]


async def run_until(c: Container, clock: FakeClock, until: datetime) -> None:
    """Drive the scheduler pass by pass, jumping the clock to each next_run."""
    while True:
        due = await c.store.schedule.next_due()
        if due is None or due > until:
            clock.set(until)
            return
        clock.set(due + timedelta(seconds=0.5))
        await c.scheduler.run_once()


async def test_skip_over_christmas(app: Container, clock: FakeClock) -> None:
    await app.calendars.create(DE)
    job = await app.jobs.create(
        job_spec("daily", schedule="0 9 * * *", calendar="de-business", on_overlap="allow")
    )
    assert job.next_run == datetime(2026, 12, 21, 9, tzinfo=UTC)  # Monday: the weekend skipped
    await run_until(app, clock, datetime(2026, 12, 29, 12, tzinfo=UTC))
    assert await fired(app, "daily") == [
        "12-21 09:00",
        "12-22 09:00",
        "12-23 09:00",
        "12-28 09:00",
        "12-29 09:00",
    ]
    assert await skips(app) == [
        ("12-19 09:00", "weekend"),  # after the job was made (Friday noon)
        ("12-20 09:00", "weekend"),
        ("12-24 09:00", "excluded date"),
        ("12-25 09:00", "holiday: Christmas Day"),
        ("12-26 09:00", "holiday: Second Day of Christmas"),
        ("12-27 09:00", "weekend"),
    ]


async def test_next_business_day_moves_the_weekend_to_monday_once(
    app: Container, clock: FakeClock
) -> None:
    await app.calendars.create(CalendarSpec("weekdays"))
    job = await app.jobs.create(
        job_spec(
            "moved",
            schedule="0 9 * * *",
            calendar="weekdays",
            calendar_policy="next_business_day",
            on_overlap="allow",
        )
    )
    assert job.next_run == datetime(2026, 12, 21, 9, tzinfo=UTC)
    await run_until(app, clock, datetime(2026, 12, 21, 12, tzinfo=UTC))
    assert await fired(app, "moved") == ["12-21 09:00"]
    assert await skips(app) == [
        ("12-19 09:00", "weekend; moved to 2026-12-21"),
        ("12-20 09:00", "weekend; moved to 2026-12-21"),
    ]
    await run_until(app, clock, datetime(2026, 12, 28, 12, tzinfo=UTC))
    assert await fired(app, "moved") == [
        "12-21 09:00",
        "12-22 09:00",
        "12-23 09:00",
        "12-24 09:00",
        "12-25 09:00",
        "12-28 09:00",
    ]
    assert (await skips(app))[2:] == [
        ("12-26 09:00", "weekend; moved to 2026-12-28"),
        ("12-27 09:00", "weekend; moved to 2026-12-28"),
    ]


async def test_catchup_after_downtime_over_a_holiday(app: Container, clock: FakeClock) -> None:
    await app.calendars.create(DE)
    await app.jobs.create(
        job_spec(
            "catch",
            schedule="0 9 * * *",
            calendar="de-business",
            catchup="all",
            on_overlap="allow",
        )
    )
    clock.set(datetime(2026, 12, 28, 9, 0, 30, tzinfo=UTC))  # down since Friday the 18th
    await app.scheduler.run_once()
    assert await fired(app, "catch") == [
        "12-21 09:00",
        "12-22 09:00",
        "12-23 09:00",
        "12-28 09:00",
    ]


async def test_changing_the_calendar_moves_next_run(app: Container, clock: FakeClock) -> None:
    await app.calendars.create(DE)
    job = await app.jobs.create(job_spec("j", schedule="0 9 * * *", calendar="de-business"))
    assert job.next_run == datetime(2026, 12, 21, 9, tzinfo=UTC)
    _, moved = await app.calendars.replace(
        "de-business", replace(DE, exclude_dates=(date(2026, 12, 21), date(2026, 12, 22)))
    )
    assert moved == {job.id: datetime(2026, 12, 23, 9, tzinfo=UTC)}
    assert (await app.jobs.get("j")).next_run == datetime(2026, 12, 23, 9, tzinfo=UTC)


async def test_a_change_leaving_a_job_no_fire_time_is_refused(
    app: Container, clock: FakeClock
) -> None:
    await app.calendars.create(CalendarSpec("weekdays"))
    with pytest.raises(ValidationError) as caught:  # Saturdays only, never a business day
        await app.jobs.create(job_spec("sat", schedule="0 9 * * 6", calendar="weekdays"))
    assert caught.value.field == "calendar"
    assert "no tick of the schedule on a business day" in caught.value.reason
    await app.calendars.create(CalendarSpec("all-days", weekdays=(1, 2, 3, 4, 5, 6, 7)))
    await app.jobs.create(job_spec("sat3", schedule="0 9 * * 6", calendar="all-days"))
    with pytest.raises(ValidationError, match="job 'sat3'") as refused:
        await app.calendars.replace("all-days", CalendarSpec("all-days", weekdays=(1,)))
    assert refused.value.field == "calendar"
    kept = await app.calendars.get("all-days")
    assert kept.spec.weekdays == (1, 2, 3, 4, 5, 6, 7)


async def test_unknown_calendar_and_deleting_one_in_use(app: Container, clock: FakeClock) -> None:
    with pytest.raises(ValidationError, match="unknown calendar 'nope'") as caught:
        await app.jobs.create(job_spec("j", schedule="0 9 * * *", calendar="nope"))
    assert caught.value.field == "calendar"
    await app.calendars.create(CalendarSpec("weekdays"))
    await app.jobs.create(job_spec("j", schedule="0 9 * * *", calendar="weekdays"))
    with pytest.raises(Conflict, match="used by job"):
        await app.calendars.delete("weekdays")


async def test_a_calendar_change_withdraws_the_runs_written_ahead(
    db_url: str, clock: FakeClock
) -> None:
    """schedule_ahead: Monday 09:00's run, written at 08:59:30, was planned under the old
    calendar; a change that closes Monday withdraws it and moves the job to Tuesday."""
    settings = Settings(database_url=db_url, misfire_grace=60, schedule_ahead=60)
    app = Container(settings, clock=clock)
    await app.start(background=False)
    try:
        await app.calendars.create(DE)
        job = await app.jobs.create(job_spec("j", schedule="0 9 * * *", calendar="de-business"))
        monday = datetime(2026, 12, 21, 9, tzinfo=UTC)
        assert job.next_run == monday
        clock.set(monday - timedelta(seconds=30))
        await app.scheduler.run_once()
        runs, _, _ = await app.runs.list_runs(RunFilter(job_id=job.id), limit=5, cursor=None)
        assert [(r.scheduled_for, r.not_before) for r in runs] == [(monday, monday)]
        _, moved = await app.calendars.replace(
            "de-business", replace(DE, exclude_dates=(date(2026, 12, 21),))
        )
        assert moved == {job.id: monday + timedelta(days=1)}
        runs, _, _ = await app.runs.list_runs(RunFilter(job_id=job.id), limit=5, cursor=None)
        assert runs == []
        gone = [e for e in await app.store.events.since(0, limit=100) if e.type == "run.withdrawn"]
        assert [e.data["reason"] for e in gone] == ["calendar changed"]
    finally:
        await app.stop()
