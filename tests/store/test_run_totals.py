"""Run totals on both backends: kept as runs finish, counted once across passes, restarts
and rival leaders, and read by the overview and a job's stats instead of the runs."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tickwork.domain.clock import FakeClock
from tickwork.domain.queries import NewRun
from tickwork.domain.runs import Completion
from tickwork.domain.totals import Totals, hour_of
from tickwork.service.projection import RunTotalsProjector
from tickwork.store import migrate
from tickwork.store import tables as t
from tickwork.store.sql import SqlStore

from .helpers import add_job, add_worker, claim, complete


def leader(store: SqlStore, clock: FakeClock) -> RunTotalsProjector:
    return RunTotalsProjector(store, clock, lambda: True)


async def settle(projector: RunTotalsProjector) -> None:
    while await projector.run_once():
        pass


async def finish_some(store: SqlStore, clock: FakeClock) -> dict[str, str]:
    """Two completed runs (1 s and 3 s), one failed for good, one cancelled while queued and
    one still queued: run id → what became of it."""
    job = await add_job(store, clock, "counted", on_overlap="allow", concurrency=10, retries=0)
    new = [NewRun(job_id=job.id, trigger="manual")] * 5
    made = [r for r, _ in await store.runs.bulk(new, now=clock.now())]
    await store.runs.cancel(made[0], now=clock.now())
    wid = await add_worker(store, clock)
    claimed = await claim(store, clock, wid, limit=3)
    clock.advance(5)
    outcomes = [("completed", 1.0), ("completed", 3.0), ("failed", 2.0)]
    await complete(
        store,
        [
            Completion(
                run_id=a.run_id,
                fence=a.fence,
                outcome=status,
                elapsed=elapsed,
                exit_code=0 if status == "completed" else 1,
            )
            for a, (status, elapsed) in zip(claimed, outcomes, strict=True)
        ],
        worker_id=wid,
        now=clock.now(),
    )
    return {made[0]: "cancelled"} | {
        a.run_id: status for a, (status, _) in zip(claimed, outcomes, strict=True)
    }


async def test_the_overview_and_a_jobs_stats_read_the_totals(
    store: SqlStore, clock: FakeClock
) -> None:
    await finish_some(store, clock)
    projector = leader(store, clock)
    await settle(projector)
    overview = await store.stats.overview(now=clock.now())
    assert {k: v for k, v in overview["by_status"].items() if v} == {
        "completed": 2,
        "failed": 1,
        "cancelled": 1,
        "queued": 1,
    }
    assert overview["failed_24h"] == 1
    assert (overview["jobs"], overview["jobs_enabled"], overview["jobs_exact"]) == (1, 1, True)
    hour = hour_of(clock.now())
    assert sorted((s, n) for b, s, n in overview["hours"] if b == hour) == [
        ("cancelled", 1),
        ("completed", 2),
        ("failed", 1),
    ]
    stats = await store.stats.job_totals("job-counted")
    assert (stats.total_runs, stats.completed, stats.failed) == (5, 2, 1)
    assert stats.avg_duration == 2.0  # (1 + 3) / 2, the completed ones

    await settle(projector)  # nothing new: nothing added
    await settle(leader(store, clock))  # a new leader starts where the totals stopped
    again = await store.stats.job_totals("job-counted")
    assert (again.completed, again.failed) == (2, 1)

    clock.advance(timedelta(hours=30).total_seconds())
    later = await store.stats.overview(now=clock.now())
    assert later["failed_24h"] == 0 and later["hours"] == []  # out of the 24-hour window
    assert later["by_status"]["completed"] == 2  # the totals stay


async def test_a_rival_leader_cannot_count_the_same_rows_twice(
    store: SqlStore, clock: FakeClock
) -> None:
    start = await store.stats.totals_at()
    assert start is not None
    await finish_some(store, clock)
    upto = await store.events.last_row()
    first = await store.stats.add_totals(
        Totals(hours={(hour_of(clock.now()), "failed"): 1}), since=start, upto=upto, now=clock.now()
    )
    rival = await store.stats.add_totals(
        Totals(hours={(hour_of(clock.now()), "failed"): 1}), since=start, upto=upto, now=clock.now()
    )
    assert (first, rival) == (True, False)
    async with store.db.read() as conn:
        failed = (
            await conn.execute(
                sa.select(sa.func.sum(t.run_hours.c.runs)).where(t.run_hours.c.status == "failed")
            )
        ).scalar_one()
    assert failed == 1 and await store.stats.totals_at() == upto


async def test_deleting_a_job_deletes_its_totals(store: SqlStore, clock: FakeClock) -> None:
    await finish_some(store, clock)
    await settle(leader(store, clock))
    await store.jobs.delete("job-counted", now=clock.now())
    stats = await store.stats.job_totals("job-counted")
    assert (stats.total_runs, stats.completed, stats.avg_duration) == (0, 0, None)


async def test_upgrading_counts_the_runs_already_there(db_url: str, clock: FakeClock) -> None:
    store = SqlStore(db_url)
    try:
        # runs finished by today's code, then the schema taken back to before the totals
        # (0004) and upgraded again: the totals migration counts the runs it finds
        await migrate.upgrade(store.writer)
        await finish_some(store, clock)
        await migrate.downgrade(store.writer, "0004")
        await migrate.upgrade(store.writer)
        assert await store.stats.totals_at() == await store.events.last_row()
        stats = await store.stats.job_totals("job-counted")
        assert (stats.total_runs, stats.completed, stats.failed, stats.avg_duration) == (
            5,
            2,
            1,
            2.0,
        )
        overview = await store.stats.overview(now=clock.now())
        assert overview["by_status"]["cancelled"] == 1
    finally:
        await store.close()


async def test_the_database_sums_the_same_totals_as_the_events_would(
    store: SqlStore, clock: FakeClock
) -> None:
    """``finish_totals`` (summed in SQL on PostgreSQL) equals folding the stored events one by
    one: rows of one event and of a job's batch, mixed types, durations missing or not a
    number, events of no job, finishes either side of an hour's end."""

    clock.set(clock.now().replace(minute=59, second=59))
    await finish_some(store, clock)  # one batch row of completions and a failure, and more
    before = await store.events.last_row()
    job = await add_job(store, clock, "odd", on_overlap="allow")
    clock.advance(2)  # past the hour
    async with store.db.write(clock.now()) as (_, events):
        events.add("run.completed", job_id=job.id, run_id="r-1", data={"duration": True})
        events.add("run.failed", job_id=job.id, run_id="r-2", data={"duration": "2"})
        events.add("run.started", job_id=job.id, run_id="r-3", data={"duration": 9.0})
        events.add("run.completed", run_id="r-4", data={"duration": 1.0})  # no job
    async with store.db.write(clock.now()) as (_, events):
        events.add("run.missed", job_id=job.id, run_id="r-5", data={})
    async with store.db.write(clock.now()) as (_, events):
        events.add("run.completed", job_id=job.id, run_id="r-6", data={"duration": 0.25})
        events.add("run.completed", job_id=job.id, run_id="r-7", data={"duration": 1})
    upto = await store.events.last_row()
    rows = await store.events.batches_since(0, limit=1000)
    expected = Totals().add(e for row_id, events in rows for e in events if row_id <= upto)
    assert expected.jobs  # the comparison is not of two empty totals
    assert await store.events.finish_totals(0, upto) == expected
    later = Totals().add(e for row_id, events in rows for e in events if row_id > before)
    assert await store.events.finish_totals(before, upto) == later
    assert (
        later.jobs[(job.id, "completed")].runs == 3 and later.jobs[(job.id, "completed")].timed == 2
    )
    assert later.jobs[(job.id, "completed")].seconds == 1.25
    assert not await store.events.finish_totals(upto, upto)


async def test_the_job_status_follows_its_runs_from_the_outbox_rows_alone(
    store: SqlStore, clock: FakeClock
) -> None:
    """The projector learns which jobs' runs changed from the rows' jobs and types (a report's
    batch row included), without their events, and sets each job's status from its latest
    run; a job whose runs did not change keeps its own."""
    from tickwork.coord.local import LocalBus
    from tickwork.service.notify import Notifier
    from tickwork.service.projection import JobStatusProjector

    projector = JobStatusProjector(store, clock, Notifier(LocalBus(), clock), lambda: True)
    assert not await projector.run_once()  # takes its place in the outbox
    job = await add_job(store, clock, "followed", on_overlap="allow", retries=0)
    quiet = await add_job(store, clock, "quiet")
    wid = await add_worker(store, clock)
    for outcome in ("completed", "failed"):
        await store.runs.bulk([NewRun(job_id=job.id, trigger="manual")], now=clock.now())
        [a] = await claim(store, clock, wid)
        await projector.run_once()  # the run's queuing seen: only the report's row is new
        clock.advance(1)
        await store.reports.apply(
            wid,
            starts=[(a.run_id, a.fence)],  # the start travels with the end: one batch row
            completions=[Completion(run_id=a.run_id, fence=a.fence, outcome=outcome)],
            limit=0,
            now=clock.now(),
        )
        await projector.run_once()
        found = await store.jobs.get(job.name)
        assert found is not None and found.status == outcome
    unchanged = await store.jobs.get(quiet.name)
    assert unchanged is not None and unchanged.status == "idle"
