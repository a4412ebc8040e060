"""The scheduler ticks pipelines, on both backends with a fake clock: each tick one pipeline
run, a business calendar's closed days skipped with the reason, catch-up after downtime as
for jobs, a paused pipeline left alone; a calendar a pipeline names cannot be deleted and its
change moves the pipeline's next_run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tickwork.config import Settings
from tickwork.domain.calendars import CalendarSpec, HolidaySet
from tickwork.domain.clock import FakeClock
from tickwork.domain.errors import Conflict
from tickwork.domain.pipelines import PipelineSpec, TaskNode, TaskSpec
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


def nightly(**fields: Any) -> PipelineSpec:
    return PipelineSpec(
        name="nightly",
        tasks=(TaskSpec(TaskNode("only"), job_spec("nightly.only")),),
        schedule="0 9 * * *",
        on_overlap="allow",
        **fields,
    )


async def ticks(c: Container) -> list[str]:
    runs, _, _ = await c.pipelines.runs("nightly", limit=100, cursor=None)
    return sorted(r.scheduled_for.strftime("%m-%d %H:%M") for r in runs if r.scheduled_for)


async def skips(c: Container) -> list[tuple[str, str]]:
    events = await c.store.events.since(0, limit=1000)
    return [
        (e.data["scheduled_for"][5:16].replace("T", " "), e.data["reason"])
        for e in events
        if e.type == "pipeline_run.skipped"
    ]


async def pass_until(c: Container, clock: FakeClock, until: datetime) -> None:
    """Drive the scheduler pass by pass, jumping the clock to each next due time."""
    while True:
        due = await c.store.pipeline_schedule.next_due()
        if due is None or due > until:
            clock.set(until)
            return
        clock.set(due + timedelta(seconds=0.5))
        await c.scheduler.run_once()


async def test_ticks_skip_the_calendars_closed_days(app: Container, clock: FakeClock) -> None:
    await app.calendars.create(DE)
    made = await app.pipelines.create(nightly(calendar="de-business"))
    assert made.next_run == datetime(2026, 12, 21, 9, tzinfo=UTC)
    await pass_until(app, clock, datetime(2026, 12, 29, 12, tzinfo=UTC))
    assert await ticks(app) == [
        "12-21 09:00",
        "12-22 09:00",
        "12-23 09:00",
        "12-28 09:00",
        "12-29 09:00",
    ]
    assert await skips(app) == [
        ("12-19 09:00", "weekend"),
        ("12-20 09:00", "weekend"),
        ("12-24 09:00", "excluded date"),
        ("12-25 09:00", "holiday: Christmas Day"),
        ("12-26 09:00", "holiday: Second Day of Christmas"),
        ("12-27 09:00", "weekend"),
    ]
    with pytest.raises(Conflict, match="pipeline\\(s\\) nightly"):
        await app.calendars.delete("de-business")


async def test_catchup_latest_after_downtime_and_pause(app: Container, clock: FakeClock) -> None:
    await app.pipelines.create(nightly())
    clock.set(datetime(2026, 12, 22, 12, tzinfo=UTC))  # three ticks passed while down
    await app.scheduler.run_once()
    assert await ticks(app) == ["12-22 09:00"]  # folded into the latest
    assert [r for _, r in await skips(app)] == ["folded into the latest tick (catchup=latest)"] * 3
    paused = await app.pipelines.set_enabled("nightly", False)
    assert paused.next_run is None
    clock.set(datetime(2026, 12, 24, 12, tzinfo=UTC))
    await app.scheduler.run_once()
    assert await ticks(app) == ["12-22 09:00"]
    resumed = await app.pipelines.set_enabled("nightly", True)
    assert resumed.next_run == datetime(2026, 12, 25, 9, tzinfo=UTC)


async def test_a_calendar_change_moves_the_pipeline(app: Container, clock: FakeClock) -> None:
    await app.calendars.create(DE)
    made = await app.pipelines.create(nightly(calendar="de-business"))
    assert made.next_run == datetime(2026, 12, 21, 9, tzinfo=UTC)
    _, moved = await app.calendars.replace(
        "de-business", replace(DE, include_dates=(date(2026, 12, 19),))
    )
    assert moved[made.id] == datetime(2026, 12, 19, 9, tzinfo=UTC)
    assert (await app.pipelines.get("nightly")).next_run == datetime(2026, 12, 19, 9, tzinfo=UTC)
