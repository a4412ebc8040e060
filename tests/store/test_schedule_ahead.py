"""Runs written ahead of their tick (``schedule_ahead``), on both backends: not claimable
before their fire time, withdrawn when their job changes, their overlap decided at the tick,
never written twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.domain.queries import JobFilter, RunFilter
from tickwork.domain.runs import Completion, Run
from tickwork.service.container import Container
from tickwork.store import tables as t
from tickwork.testing import job_spec

from .helpers import add_worker, claim, complete, start

MINUTE = timedelta(minutes=1)


@pytest.fixture
async def app(db_url: str, clock: FakeClock) -> AsyncIterator[Container]:
    settings = Settings(database_url=db_url, misfire_grace=60, schedule_ahead=60)
    c = Container(settings, clock=clock)
    await c.start(background=False)
    yield c
    await c.stop()


async def runs_of(c: Container, name: str) -> list[Run]:
    job = await c.jobs.get(name)
    runs, _, _ = await c.runs.list_runs(RunFilter(job_id=job.id), limit=500, cursor=None)
    return sorted(runs, key=lambda r: (r.scheduled_for or r.queued_at, r.id))


async def events_of(c: Container, kind: str) -> list[dict[str, object]]:
    return [
        {"run_id": e.run_id, **e.data}
        for e in await c.store.events.since(0, limit=1000)
        if e.type == kind
    ]


async def minutely(c: Container, clock: FakeClock, name: str, **fields: object) -> datetime:
    """A job on ``* * * * *`` whose first tick (a minute away) is written ahead now."""
    job = await c.jobs.create(job_spec(name, schedule="* * * * *", **fields))
    assert job.next_run == clock.now() + MINUTE
    await c.scheduler.run_once()
    return job.next_run


async def run_and_finish(c: Container, clock: FakeClock, run_id: str) -> None:
    [got] = [a for a in await claim(c.store, clock) if a.run_id == run_id]
    await start(c.store, [(got.run_id, got.fence, "worker-a")], now=clock.now())
    await complete(
        c.store,
        [Completion(got.run_id, got.fence, "completed", exit_code=0)],
        worker_id="worker-a",
        now=clock.now(),
    )


async def test_a_tick_is_written_ahead_and_claimable_only_from_its_fire_time(
    app: Container, clock: FakeClock
) -> None:
    tick = await minutely(app, clock, "early", on_overlap="allow")
    [run] = await runs_of(app, "early")
    assert (run.status, run.scheduled_for, run.not_before) == ("queued", tick, tick)
    assert run.queued_at == tick  # its place in the claim's order is its fire time
    assert (await app.jobs.get("early")).next_run == tick + MINUTE
    [queued] = await events_of(app, "run.queued")
    assert queued["not_before"] == tick.isoformat()
    await add_worker(app.store, clock)
    clock.advance(59.9)
    assert await claim(app.store, clock) == []
    clock.advance(0.1)
    [got] = await claim(app.store, clock)
    assert got.run_id == run.id


async def test_a_job_shows_the_tick_already_written_as_its_next_run(
    app: Container, clock: FakeClock
) -> None:
    """The scheduler's ``next_run`` has moved past the tick written ahead; the job as shown
    (its page, the list) still says when it really fires next, then the tick after."""
    tick = await minutely(app, clock, "shown", on_overlap="allow")
    assert (await app.jobs.get("shown")).next_run == tick + MINUTE  # the scheduler's
    assert (await app.jobs.detail("shown")).job.next_run == tick
    [listed], _, _ = await app.jobs.list_jobs(JobFilter(q="shown"), limit=10, cursor=None)
    assert listed.next_run == tick
    clock.advance(60)  # its time has come: the next is the one after
    assert (await app.jobs.detail("shown")).job.next_run == tick + MINUTE


async def test_a_pass_at_the_same_time_or_a_stale_leader_writes_no_duplicate(
    app: Container, clock: FakeClock
) -> None:
    tick = await minutely(app, clock, "once", on_overlap="allow")
    await app.scheduler.run_once()
    job = await app.jobs.get("once")
    # a leader that still believes the tick unwritten (the job's next_run read before the
    # other's commit): the tick's unique index keeps one run
    async with app.store.db.write(clock.now()) as (conn, _):
        await conn.execute(sa.update(t.jobs).where(t.jobs.c.id == job.id).values(next_run=tick))
    other = Container(app.settings, clock=clock)  # another coordinator, leading
    await other.start(background=False, migrate_db=False)
    try:
        await other.scheduler.run_once()
    finally:
        await other.stop()
    assert [r.scheduled_for for r in await runs_of(app, "once")] == [tick]


async def test_editing_a_job_withdraws_its_runs_written_ahead(
    app: Container, clock: FakeClock
) -> None:
    tick = await minutely(app, clock, "edited", on_overlap="allow", command="echo old")
    [old] = await runs_of(app, "edited")
    await app.jobs.replace("edited", job_spec("edited", schedule="* * * * *", command="echo new"))
    assert await runs_of(app, "edited") == []
    [gone] = await events_of(app, "run.withdrawn")
    assert (gone["run_id"], gone["reason"]) == (old.id, "job updated")
    assert (await app.jobs.get("edited")).next_run == tick  # written anew from the new one
    await app.scheduler.run_once()
    [new] = await runs_of(app, "edited")
    assert new.id != old.id and new.scheduled_for == tick and new.not_before == tick


async def test_a_new_schedule_is_planned_from_now(app: Container, clock: FakeClock) -> None:
    await minutely(app, clock, "moved", on_overlap="allow")
    await app.jobs.replace("moved", job_spec("moved", schedule="*/5 * * * *"))
    assert await runs_of(app, "moved") == []
    assert (await app.jobs.get("moved")).next_run == clock.now() + 5 * MINUTE


async def test_pausing_or_deleting_a_job_withdraws_its_runs_written_ahead(
    app: Container, clock: FakeClock
) -> None:
    tick = await minutely(app, clock, "paused")
    await app.jobs.set_enabled("paused", False)
    assert await runs_of(app, "paused") == []
    assert len(await events_of(app, "run.withdrawn")) == 1
    await app.jobs.set_enabled("paused", True)
    assert (await app.jobs.get("paused")).next_run == tick
    await app.scheduler.run_once()
    assert len(await runs_of(app, "paused")) == 1
    await app.jobs.delete("paused")
    async with app.store.db.read() as conn:
        left = (await conn.execute(sa.select(sa.func.count()).select_from(t.runs))).scalar()
    assert left == 0


async def test_a_due_run_is_kept_when_its_job_changes(app: Container, clock: FakeClock) -> None:
    tick = await minutely(app, clock, "due", on_overlap="allow")
    clock.advance(60)  # its time has come: it is queued like any run
    await app.jobs.replace("due", job_spec("due", schedule="* * * * *", on_overlap="allow"))
    assert [r.scheduled_for for r in await runs_of(app, "due")] == [tick]


async def test_skip_a_tick_whose_previous_run_is_still_running_at_its_time(
    app: Container, clock: FakeClock
) -> None:
    first = await minutely(app, clock, "skipper")  # on_overlap: skip, the default
    await add_worker(app.store, clock)
    clock.advance(60)
    [got] = await claim(app.store, clock)  # the first tick's run, running from now
    await app.scheduler.run_once()  # writes the second tick ahead
    second = first + MINUTE
    assert [r.scheduled_for for r in await runs_of(app, "skipper")] == [first, second]
    clock.advance(60)
    assert await claim(app.store, clock) == []  # passed over while the first is running
    await app.scheduler.run_once()  # the pass at the tick removes the run that lost
    assert [r.scheduled_for for r in await runs_of(app, "skipper")] == [first, second + MINUTE]
    [skipped] = await events_of(app, "run.skipped")
    assert skipped["scheduled_for"] == second.isoformat()
    assert skipped["active_run"] == got.run_id
    assert "on_overlap=skip" in str(skipped["reason"])


async def test_skip_a_tick_runs_when_the_previous_run_ended_in_time(
    app: Container, clock: FakeClock
) -> None:
    await minutely(app, clock, "quick")
    await add_worker(app.store, clock)
    clock.advance(60)
    [got] = await claim(app.store, clock)
    await app.scheduler.run_once()
    await start(app.store, [(got.run_id, got.fence, "worker-a")], now=clock.now())
    await complete(
        app.store,
        [Completion(got.run_id, got.fence, "completed", exit_code=0)],
        worker_id="worker-a",
        now=clock.now(),
    )
    clock.advance(60)
    await app.scheduler.run_once()
    [second] = await claim(app.store, clock)
    assert second.run_id != got.run_id
    assert await events_of(app, "run.skipped") == []


async def test_a_run_waiting_for_its_tick_is_no_active_run_for_a_trigger(
    app: Container, clock: FakeClock
) -> None:
    await minutely(app, clock, "trig")  # skip: a trigger returns the active run, if any
    _run_id, status, created = await app.jobs.trigger("trig")
    assert created and status == "queued"
    assert len(await runs_of(app, "trig")) == 2


async def test_cancel_previous_supersedes_at_the_tick(app: Container, clock: FakeClock) -> None:
    first = await minutely(app, clock, "cancels", on_overlap="cancel_previous")
    await add_worker(app.store, clock)
    clock.advance(60)
    [got] = await claim(app.store, clock)
    await start(app.store, [(got.run_id, got.fence, "worker-a")], now=clock.now())
    await app.scheduler.run_once()  # the second tick, written ahead: nothing stopped yet
    assert (await app.runs.get(got.run_id)).cancel_requested is False
    clock.advance(60)
    assert await claim(app.store, clock) == []
    await app.scheduler.run_once()  # at the tick: the running one is asked to stop
    assert (await app.runs.get(got.run_id)).cancel_requested is True
    second = [r for r in await runs_of(app, "cancels") if r.scheduled_for == first + MINUTE]
    assert [r.status for r in second] == ["queued"]
    await complete(
        app.store,
        [Completion(got.run_id, got.fence, "cancelled")],
        worker_id="worker-a",
        now=clock.now(),
    )
    [next_one] = await claim(app.store, clock)
    assert next_one.run_id == second[0].id


async def test_runs_written_ahead_are_not_queued_for_quotas_and_counts(
    app: Container, clock: FakeClock
) -> None:
    await minutely(app, clock, "counted", on_overlap="allow")
    now = clock.now()
    assert await app.store.watch.queued_by_namespace(now=now) == {}
    overview = await app.store.stats.overview(now=now)
    assert overview["ready"] == 0
    assert overview["by_status"].get("queued") == 1  # waiting, as a retry's backoff is
    clock.advance(60)
    assert await app.store.watch.queued_by_namespace(now=clock.now()) == {"default": 1}


async def test_a_claimed_run_is_an_ordinary_one_retries_included(
    app: Container, clock: FakeClock
) -> None:
    """Once claimed, a run written ahead counts as any run: retrying (its not_before its
    backoff), it is the skip job's active run for a trigger, and an edit leaves it."""
    await minutely(app, clock, "retried", retries=2)
    await add_worker(app.store, clock)
    clock.advance(60)
    [got] = await claim(app.store, clock)
    await start(app.store, [(got.run_id, got.fence, "worker-a")], now=clock.now())
    [done] = await complete(
        app.store,
        [Completion(got.run_id, got.fence, "failed", exit_code=1)],
        worker_id="worker-a",
        now=clock.now(),
    )
    assert done.status == "queued" and done.not_before is not None
    assert done.not_before > clock.now()
    run_id, _, created = await app.jobs.trigger("retried")
    assert (run_id, created) == (got.run_id, False)
    await app.jobs.replace("retried", job_spec("retried", schedule="* * * * *", command="x"))
    assert (await app.runs.get(got.run_id)).status == "queued"


async def test_runs_due_ahead_wait_while_workers_drain_until_half_the_window(
    app: Container, clock: FakeClock
) -> None:
    """While workers are draining, the next tick's runs are not written at the start of the
    window (they would take the cores the drain needs) but by its second half; a job with
    nothing draining is written at once (the test above)."""
    draining = [True]
    app.scheduler.draining = lambda: draining[0]
    job = await app.jobs.create(job_spec("paced", schedule="* * * * *", on_overlap="allow"))
    tick = job.next_run
    assert tick is not None and tick == clock.now() + MINUTE
    await app.scheduler.run_once()
    assert await runs_of(app, "paced") == []  # 60 s away, a drain under way: later
    clock.advance(29)
    await app.scheduler.run_once()
    assert await runs_of(app, "paced") == []  # 31 s away: still in the first half
    clock.advance(2)
    await app.scheduler.run_once()
    [run] = await runs_of(app, "paced")  # 29 s away: written, drain or not
    assert (run.scheduled_for, run.not_before) == (tick, tick)


async def test_a_coordinator_handing_out_runs_counts_as_draining(
    app: Container, clock: FakeClock
) -> None:
    await app.jobs.create(job_spec("work", on_overlap="allow"))
    w = await app.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=1, version="t"
    )
    assert not app.workers.handing_out()
    await app.workers.claim(w.id, limit=1, wait=0)  # nothing to hand out
    assert not app.workers.handing_out()
    await app.jobs.trigger("work")
    [got] = await app.workers.claim(w.id, limit=1, wait=0)
    assert got.job_name == "work" and app.workers.handing_out()
