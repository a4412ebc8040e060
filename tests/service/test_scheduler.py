"""The scheduler loop with a fake clock: due jobs become runs, once per tick, by the leader."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tickwork.config import Settings
from tickwork.coord.local import LocalLeaderLease
from tickwork.domain import ids
from tickwork.domain.clock import FakeClock
from tickwork.domain.queries import RunFilter
from tickwork.domain.scheduling import jitter_offset
from tickwork.service.container import Container
from tickwork.service.scheduler import Scheduler
from tickwork.store import schedule_sql
from tickwork.testing import job_spec


@pytest.fixture
async def app(db_url: str, clock: FakeClock) -> AsyncIterator[Container]:
    c = Container(Settings(database_url=db_url, misfire_grace=60, schedule_ahead=0), clock=clock)
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
    events = await app.store.events.since(0, limit=1000)
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
    events = await app.store.events.since(0, limit=1000)
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


class Unreachable(LocalLeaderLease):
    """A lease service that stops answering (Redis cut off), and comes back."""

    down = False

    async def acquire(self, name: str, holder: str, ttl: float) -> int | None:
        if self.down:
            raise TimeoutError("Timeout reading from redis")
        return await super().acquire(name, holder, ttl)


async def test_a_leader_whose_lease_goes_unconfirmed_leads_no_longer(
    app: Container, clock: FakeClock
) -> None:
    """Leader-only work (status projection, pruning, alerts, the health answer) follows
    ``is_leader``: a scheduler that cannot renew its lease stops claiming to lead at once,
    rather than keep the last answer while another coordinator takes over."""
    lease = Unreachable()
    one = Scheduler(app.store, lease, clock, app.notifier, app.settings, holder="one")
    await app.jobs.create(job_spec("led", schedule="every 10s", on_overlap="allow"))
    clock.advance(10)
    await one.run_once()
    assert one.is_leader and len(await runs_of(app, "led")) == 1
    lease.down = True
    clock.advance(10)
    assert await one.run_once() is False  # no raise: the loop retries each interval
    assert not one.is_leader and len(await runs_of(app, "led")) == 1
    lease.down = False
    await one.run_once()  # its lease had not lapsed: the same fence again
    assert one.is_leader and one.fence == 1 and len(await runs_of(app, "led")) == 2


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


# --- jitter: each job fires at its nominal tick + a stable per-job offset in [0, jitter) ------


async def fire_until(app: Container, clock: FakeClock, until: datetime) -> None:
    """Step the fake clock from one due time to the next, running a scheduler pass at each."""
    while (due := await app.store.schedule.next_due()) is not None and due <= until:
        clock.set(max(due, clock.now()))
        await app.scheduler.run_once()
    clock.set(until)


async def created_runs(app: Container, name: str) -> list[tuple[datetime, datetime]]:
    """(scheduled_for, queued_at) of a job's runs, oldest first."""
    job = await app.jobs.get(name)
    runs, _, _ = await app.runs.list_runs(RunFilter(job_id=job.id), limit=500, cursor=None)
    return sorted((r.scheduled_for, r.queued_at) for r in runs if r.scheduled_for)


@pytest.mark.parametrize("schedule", ["* * * * *", "every 1m"])
async def test_jobs_created_together_fire_spread_over_the_jitter_window(
    app: Container, clock: FakeClock, schedule: str
) -> None:
    """100 jobs made in one instant (a job file applied, say) with jitter 30: no herd."""
    start = clock.now()
    jobs = [
        await app.jobs.create(
            job_spec(f"herd-{i}", schedule=schedule, jitter=30, on_overlap="allow")
        )
        for i in range(100)
    ]
    nominal = [start + timedelta(minutes=m) for m in (1, 2, 3)]
    for job in jobs:  # next_run, as users see it, is when the job will really fire
        assert job.next_run == nominal[0] + jitter_offset(job.id, 30)
    await fire_until(app, clock, nominal[-1] + timedelta(seconds=30))
    first_fires: list[float] = []
    for job in jobs:
        offset = jitter_offset(job.id, 30)
        runs = await created_runs(app, job.name)
        # one run per nominal tick, each created at its tick + this job's own offset
        assert runs == [(tick, tick + offset) for tick in nominal]
        first_fires.append((runs[0][1] - nominal[0]).total_seconds())
    assert all(0 <= s < 30 for s in first_fires)
    per_second = Counter(int(s) for s in first_fires)
    assert len(per_second) >= 20, f"fire times bunch up: {sorted(per_second.items())}"
    assert max(per_second.values()) <= 12, f"a herd: {sorted(per_second.items())}"
    assert app.scheduler.lags and max(app.scheduler.lags) == 0  # lag counts from the jittered time


async def test_resume_and_replace_jitter_the_next_tick(app: Container, clock: FakeClock) -> None:
    job = await app.jobs.create(job_spec("moved", schedule="*/5 * * * *", jitter=120))
    offset = jitter_offset(job.id, 120)
    assert offset > timedelta(0)
    await app.jobs.set_enabled("moved", False)
    clock.advance(minutes=7)  # 12:07
    resumed = await app.jobs.set_enabled("moved", True)
    assert resumed.next_run == start_of(clock, minute=10) + offset
    replaced = await app.jobs.replace("moved", job_spec("moved", schedule="every 30m", jitter=120))
    tick = clock.now() + timedelta(minutes=30)
    assert replaced.next_run == tick + offset
    await fire_until(app, clock, tick + timedelta(minutes=1) + offset)
    assert await created_runs(app, "moved") == [(tick, tick + offset)]


def start_of(clock: FakeClock, *, minute: int) -> datetime:
    return clock.now().replace(minute=minute, second=0, microsecond=0)


async def test_catchup_with_jitter_folds_missed_ticks_into_one(
    app: Container, clock: FakeClock
) -> None:
    job = await app.jobs.create(
        job_spec("late", schedule="*/10 * * * *", jitter=300, on_overlap="allow")
    )
    offset = jitter_offset(job.id, 300)
    clock.advance(hours=2)  # 12:00 → 14:00; 12:10 … 14:00 are due once their offset has passed
    await app.scheduler.run_once()
    last_due = start_of(clock, minute=0)
    if last_due + offset > clock.now():
        last_due -= timedelta(minutes=10)
    assert [s for s, _ in await created_runs(app, "late")] == [last_due]
    events = await app.store.events.since(0, limit=1000)
    skips = [e for e in events if e.type == "run.skipped"]
    assert len(skips) == (last_due - job.next_run + offset) // timedelta(minutes=10)
    after = await app.jobs.get("late")
    assert after.next_run == last_due + timedelta(minutes=10) + offset


async def test_start_deadline_counts_from_the_jittered_fire_time(
    app: Container, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """jitter 60 with start_deadline 5: a run is never missed before it could have started."""
    monkeypatch.setattr(ids, "job_id", lambda: "job-deadline01")
    offset = jitter_offset("job-deadline01", 60)
    assert offset > timedelta(seconds=10)  # the case that matters: offset > start_deadline
    await app.jobs.create(
        job_spec("dl", schedule="every 10m", jitter=60, start_deadline=5, on_overlap="allow")
    )
    for _ in range(3):
        job = await app.jobs.get("dl")
        assert job.next_run is not None
        clock.set(job.next_run)
        await app.scheduler.run_once()
        runs, _, _ = await app.runs.list_runs(RunFilter(job_id=job.id), limit=1, cursor=None)
        assert runs[0].queued_at == runs[0].scheduled_for + offset  # type: ignore[operator]
        clock.advance(4)
        await app.reaper.run_once()
        assert (await app.runs.get(runs[0].id)).status == "queued"
        clock.advance(2)
        await app.reaper.run_once()
        assert (await app.runs.get(runs[0].id)).status == "missed"


async def test_dst_transitions_with_jitter_fire_once_each_day(
    app: Container, clock: FakeClock
) -> None:
    """Europe/Berlin 02:30: the spring-gap day fires at 03:00 local, the fold day once."""
    clock.set(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    job = await app.jobs.create(
        job_spec(
            "dst", schedule="30 2 * * *", timezone="Europe/Berlin", jitter=900, on_overlap="allow"
        )
    )
    offset = jitter_offset(job.id, 900)
    await fire_until(app, clock, datetime(2026, 3, 31, tzinfo=UTC))
    spring = [s for s, _ in await created_runs(app, "dst")]
    assert spring == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 03:00 CEST, the first instant after the gap
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]
    clock.set(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    await app.jobs.set_enabled("dst", False)
    await app.jobs.set_enabled("dst", True)
    await fire_until(app, clock, datetime(2026, 10, 27, tzinfo=UTC))
    runs = await created_runs(app, "dst")
    autumn = [(s, q) for s, q in runs if s.month == 10]
    assert autumn == [
        (
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC) + offset,
        ),
        (
            datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
            datetime(2026, 10, 26, 1, 30, tzinfo=UTC) + offset,
        ),
    ]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_schedulers_racing_with_jitter_make_one_run_per_tick(
    app: Container, clock: FakeClock
) -> None:
    racers = [
        Scheduler(app.store, LocalLeaderLease(), clock, app.notifier, app.settings, holder=f"s{i}")
        for i in range(2)
    ]
    for i in range(20):
        await app.jobs.create(
            job_spec(f"jrace-{i}", schedule="every 5s", jitter=4, on_overlap="allow")
        )
    start = clock.now()
    for _ in range(60):
        clock.advance(0.5)
        await asyncio.gather(*(s.run_once() for s in racers))
    for i in range(20):
        job = await app.jobs.get(f"jrace-{i}")
        offset = jitter_offset(job.id, 4)
        ticks = [s for s, _ in await created_runs(app, f"jrace-{i}")]
        expected = [start + timedelta(seconds=5 * k) for k in range(1, 7)]
        assert ticks == [t for t in expected if t + offset <= clock.now()]


# --- the top of the minute: one tick of many jobs, over several passes ------------------------


async def test_a_tick_over_several_passes_makes_each_run_once_across_a_failed_pass(
    db_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 jobs due at one tick, 7 per pass (each pass one transaction): a pass that fails
    after writing its runs leaves nothing behind, and the leader that takes over (or the same
    one, passing again) makes every job's run of that tick exactly once."""
    c = Container(Settings(database_url=db_url, scheduler_batch=7, schedule_ahead=0), clock=clock)
    await c.start(background=False)
    try:
        for i in range(30):
            await c.jobs.create(job_spec(f"minutely-{i}", schedule="* * * * *", on_overlap="skip"))
        tick = (await c.jobs.get("minutely-0")).next_run
        assert tick is not None
        lease = LocalLeaderLease()
        one = Scheduler(c.store, lease, clock, c.notifier, c.settings, holder="one")
        two = Scheduler(c.store, lease, clock, c.notifier, c.settings, holder="two")
        clock.advance(60.5)
        assert await one.run_once()  # 7 jobs fired and committed
        assert one.last is not None and one.last.created == 7

        real = schedule_sql.update_many

        async def cut_off(*args: object, **kwargs: object) -> None:
            raise ConnectionError("the leader lost its database mid-pass")

        monkeypatch.setattr(schedule_sql, "update_many", cut_off)
        with pytest.raises(ConnectionError):
            await one.run_once()  # its 7 runs were inserted, then the pass failed
        monkeypatch.setattr(schedule_sql, "update_many", real)
        await one.on_stop()  # the failed leader goes; the other takes over
        while await two.run_once():
            pass
        await one.run_once()  # a follower now: makes nothing
        assert not one.is_leader
        for i in range(30):
            assert await runs_of(c, f"minutely-{i}") == [tick.isoformat()], f"minutely-{i}"
            job = await c.jobs.get(f"minutely-{i}")
            assert job.next_run == tick + timedelta(minutes=1)
    finally:
        await c.stop()


async def test_jobs_alike_share_a_plan_but_keep_their_own_catchup(
    app: Container, clock: FakeClock
) -> None:
    """One plan serves every job with the same schedule, timezone, due time, catch-up and
    jitter; a job that differs in any of them is planned on its own."""
    for i in range(20):
        await app.jobs.create(job_spec(f"latest-{i}", schedule="* * * * *", on_overlap="allow"))
    await app.jobs.create(
        job_spec("replays", schedule="* * * * *", on_overlap="allow", catchup="all")
    )
    await app.jobs.create(
        job_spec("elsewhere", schedule="* * * * *", timezone="Asia/Kolkata", on_overlap="allow")
    )
    first = (await app.jobs.get("latest-0")).next_run
    assert first is not None
    clock.advance(5 * 60 + 1)  # five ticks, four of them misfires (grace 60 s)
    while await app.scheduler.run_once():
        pass
    newest = (first + timedelta(minutes=4)).isoformat()
    for i in range(20):
        assert await runs_of(app, f"latest-{i}") == [newest]
    assert await runs_of(app, "replays") == [
        (first + timedelta(minutes=m)).isoformat() for m in range(5)
    ]
    assert await runs_of(app, "elsewhere") == [newest]


async def test_a_pass_with_nothing_due_opens_no_write_transaction(
    app: Container, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Most passes find nothing due: they read the soonest due time and stop there (the
    write transaction that would lock due jobs costs three times the CPU of the read)."""
    await app.jobs.create(job_spec("later", schedule="*/5 * * * *", on_overlap="allow"))
    fired: list[datetime] = []
    real = app.store.schedule.fire

    async def counting(**kw: object) -> object:
        fired.append(clock.now())
        return await real(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(app.store.schedule, "fire", counting)
    for _ in range(3):
        assert not await app.scheduler.run_once()
    assert fired == []
    assert 0 < app.scheduler.next_wait() <= app.scheduler.interval
    clock.advance(minutes=5)
    await app.scheduler.run_once()
    assert fired == [clock.now()]
    assert len(await runs_of(app, "later")) == 1


# --- schedule_ahead: a tick's runs written ahead of it ---------------------------------------


@pytest.fixture
async def ahead(db_url: str, clock: FakeClock) -> AsyncIterator[Container]:
    settings = Settings(database_url=db_url, misfire_grace=60, schedule_ahead=30)
    c = Container(settings, clock=clock)
    await c.start(background=False)
    yield c
    await c.stop()


async def test_ahead_the_scheduler_wakes_ahead_of_the_tick_and_writes_it(
    ahead: Container, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wake-up aims at next_run - schedule_ahead; an idle pass opens no write
    transaction; a run written ahead has fire lag 0, and a deadline from its fire time."""
    interval = ahead.scheduler.interval
    job = await ahead.jobs.create(
        job_spec("ahead", schedule="* * * * *", on_overlap="allow", start_deadline=5)
    )
    assert job.next_run is not None
    fired: list[datetime] = []
    real = ahead.store.schedule.fire

    async def counting(**kw: object) -> object:
        fired.append(clock.now())
        return await real(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ahead.store.schedule, "fire", counting)
    writes_at = job.next_run - timedelta(seconds=30)
    clock.set(writes_at - timedelta(seconds=interval / 4))
    assert not await ahead.scheduler.run_once()
    assert fired == []
    assert ahead.scheduler.next_wait() == pytest.approx(interval / 4, abs=0.002)
    clock.set(writes_at)
    await ahead.scheduler.run_once()
    assert fired == [writes_at]
    [run] = (await ahead.runs.list_runs(RunFilter(job_id=job.id), limit=5, cursor=None))[0]
    assert run.not_before == job.next_run
    assert ahead.scheduler.lags == [0.0]
    assert ahead.scheduler.next_wait() == interval  # the next write is a minute away
    await ahead.reaper.run_once()
    clock.set(job.next_run + timedelta(seconds=4))
    await ahead.reaper.run_once()
    assert (await ahead.runs.get(run.id)).status == "queued"
    clock.advance(2)
    await ahead.reaper.run_once()
    assert (await ahead.runs.get(run.id)).status == "missed"


async def test_ahead_a_run_written_late_has_its_real_lag(
    ahead: Container, clock: FakeClock
) -> None:
    """A tick whose time has come when the pass runs is written as today, its lag measured."""
    job = await ahead.jobs.create(job_spec("late", schedule="* * * * *", on_overlap="allow"))
    assert job.next_run is not None
    clock.set(job.next_run + timedelta(seconds=2))
    await ahead.scheduler.run_once()
    ticks = await runs_of(ahead, "late")
    assert ticks[0] == job.next_run.isoformat() and len(ticks) == 1
    assert ahead.scheduler.lags == [pytest.approx(2.0)]


async def test_ahead_the_scheduler_wakes_at_the_tick_of_a_skip_run(
    ahead: Container, clock: FakeClock
) -> None:
    """A skip job's run written ahead is decided at its fire time: the scheduler wakes
    then (not only for the next write), and a new leader looks again at what came due."""
    job = await ahead.jobs.create(job_spec("skip", schedule="every 45s"))
    assert job.next_run is not None
    clock.set(job.next_run - timedelta(seconds=30))
    await ahead.scheduler.run_once()
    assert len(await runs_of(ahead, "skip")) == 1
    clock.set(job.next_run - timedelta(seconds=0.1))
    await ahead.scheduler.run_once()
    assert ahead.scheduler.next_wait() == pytest.approx(0.101, abs=0.002)
