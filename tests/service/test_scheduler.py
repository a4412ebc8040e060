"""The scheduler loop with a fake clock: due jobs become runs, once per tick, by the leader."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from tickwork.config import Settings
from tickwork.coord.local import LocalLeaderLease
from tickwork.domain.clock import FakeClock
from tickwork.domain.queries import RunFilter
from tickwork.service.container import Container
from tickwork.service.scheduler import Scheduler
from tickwork.testing import job_spec


@pytest.fixture
async def app(db_url: str, clock: FakeClock) -> AsyncIterator[Container]:
    c = Container(Settings(database_url=db_url, misfire_grace=60), clock=clock)
    await c.start(background=False)
    yield c
    await c.stop()


async def runs_of(c: Container, name: str) -> list[str]:
    job = await c.jobs.get(name)
    runs, _, _ = await c.runs.list_runs(RunFilter(job_id=job.id), limit=500, cursor=None)
    return sorted(r.scheduled_for.isoformat() for r in runs if r.scheduled_for)


async def test_due_job_fires_once_and_advances(app: Container, clock: FakeClock) -> None:
    job = await app.jobs.create(job_spec("every-minute", schedule="* * * * *", on_overlap="allow"))
    assert job.next_run == clock.now() + timedelta(minutes=1)
    assert not await app.scheduler.run_once()
    assert await runs_of(app, "every-minute") == []
    clock.advance(60.2)
    await app.scheduler.run_once()
    await app.scheduler.run_once()  # a second pass at the same time makes nothing more
    assert await runs_of(app, "every-minute") == [job.next_run.isoformat()]
    assert app.scheduler.lags == [pytest.approx(0.2)]
    again = await app.jobs.get("every-minute")
    assert again.next_run == job.next_run + timedelta(minutes=1)


async def test_catchup_latest_after_downtime_records_skips(
    app: Container, clock: FakeClock
) -> None:
    await app.jobs.create(job_spec("catch", schedule="*/10 * * * *", on_overlap="allow"))
    clock.advance(hours=2)
    await app.scheduler.run_once()
    fired = await runs_of(app, "catch")
    assert len(fired) == 1
    events = await app.store.events_since(0, limit=1000)
    skips = [e for e in events if e.type == "run.skipped"]
    assert len(skips) == 11
    assert all("catchup=latest" in e.data["reason"] for e in skips)


async def test_catchup_none_skips_everything_missed(app: Container, clock: FakeClock) -> None:
    await app.jobs.create(job_spec("none", schedule="*/10 * * * *", catchup="none"))
    clock.advance(hours=1, minutes=5)  # 13:00 is five minutes late: a misfire
    await app.scheduler.run_once()
    assert await runs_of(app, "none") == []
    job = await app.jobs.get("none")
    assert job.next_run is not None and job.next_run > clock.now()


async def test_skip_overlap_records_the_reason(app: Container, clock: FakeClock) -> None:
    await app.jobs.create(job_spec("busy", schedule="every 30s"))
    clock.advance(30)
    await app.scheduler.run_once()
    clock.advance(30)
    await app.scheduler.run_once()
    assert len(await runs_of(app, "busy")) == 1
    events = await app.store.events_since(0, limit=1000)
    assert any(e.type == "run.skipped" and "still active" in e.data["reason"] for e in events)


async def test_paused_jobs_do_not_fire(app: Container, clock: FakeClock) -> None:
    await app.jobs.create(job_spec("p", schedule="every 10s"))
    await app.jobs.set_enabled("p", False)
    clock.advance(60)
    await app.scheduler.run_once()
    assert await runs_of(app, "p") == []


async def test_only_the_leader_fires(app: Container, clock: FakeClock) -> None:
    lease = LocalLeaderLease()
    one = Scheduler(app.store, lease, clock, app.notifier, app.settings, holder="one")
    two = Scheduler(app.store, lease, clock, app.notifier, app.settings, holder="two")
    await app.jobs.create(job_spec("led", schedule="every 10s", on_overlap="allow"))
    clock.advance(10)
    await one.run_once()
    await two.run_once()
    assert one.is_leader and not two.is_leader
    assert one.fence == 1
    assert len(await runs_of(app, "led")) == 1


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_schedulers_racing_make_one_run_per_tick(
    app: Container, clock: FakeClock
) -> None:
    """Split brain (each believes it leads): the unique (job, tick) key still holds."""
    racers = [
        Scheduler(app.store, LocalLeaderLease(), clock, app.notifier, app.settings, holder=f"s{i}")
        for i in range(2)
    ]
    for i in range(30):
        await app.jobs.create(job_spec(f"race-{i}", schedule="every 5s", on_overlap="allow"))
    for _ in range(6):
        clock.advance(5)
        await asyncio.gather(*(s.run_once() for s in racers))
    for i in range(30):
        ticks = await runs_of(app, f"race-{i}")
        assert len(ticks) == 6 and len(set(ticks)) == 6


async def test_the_next_wait_ends_when_the_next_job_is_due(
    app: Container, clock: FakeClock
) -> None:
    """Between ticks the loop sleeps until the next due job, at most one interval."""
    interval = app.scheduler.interval
    await app.scheduler.run_once()
    assert app.scheduler.next_wait() == interval  # nothing scheduled
    job = await app.jobs.create(job_spec("soon", schedule="* * * * *"))
    assert job.next_run is not None
    clock.advance((job.next_run - clock.now()).total_seconds() - interval / 4)
    await app.scheduler.run_once()
    assert app.scheduler.next_wait() == pytest.approx(interval / 4, abs=0.002)
    clock.advance(interval / 4 + 0.001)
    await app.scheduler.run_once()
    assert await runs_of(app, "soon") == [job.next_run.isoformat()]
    assert app.scheduler.next_wait() == interval  # the next tick is a minute away
    await app.jobs.set_enabled("soon", False)
    await app.scheduler.run_once()
    assert app.scheduler.next_wait() == interval


async def test_a_follower_waits_a_whole_interval(app: Container, clock: FakeClock) -> None:
    other = Scheduler(
        app.store, app.scheduler.leader, clock, app.notifier, app.settings, holder="other"
    )
    await app.jobs.create(job_spec("soon", schedule="* * * * *"))
    assert await app.scheduler.leader.acquire("scheduler", "someone-else", 60) is not None
    clock.advance(59.9)
    await other.run_once()
    assert not other.is_leader
    assert other.next_wait() == other.interval
