"""One lock order everywhere (store/locking.py): heartbeats, reports, claims, cancels (single
and bulk), retries, replays, triggers, ticks and the reaper over the same runs never deadlock
(PostgreSQL).

The heartbeat's own retry of a lost deadlock is switched off here, so that any deadlock shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from tickwork.domain.clock import FakeClock
from tickwork.domain.errors import Conflict, NotFound
from tickwork.domain.queries import DeadLetterSelection, NewRun, RunFilter, RunSelection
from tickwork.domain.runs import Completion
from tickwork.domain.scheduling import TickPlan
from tickwork.store import workers_sql
from tickwork.store.locking import is_lock_conflict
from tickwork.store.sql import SqlStore

from .helpers import add_job, add_worker, claim
from .test_cancel_race import wait_until_blocked_on_a_lock

ROUNDS = 15

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


@pytest.fixture(autouse=True)
def no_heartbeat_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    async def once(op: Any, **_: Any) -> Any:
        return await op()

    monkeypatch.setattr(workers_sql, "retry_lock_conflicts", once)


async def blocked(dsn: str) -> int:
    """How many other sessions of this database wait on a lock right now."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def until(check: Awaitable[bool] | Any, within: float = 10) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not await check():
        assert loop.time() < end, "the interleaving was never reached"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def trigger_in_progress(dsn: str, job_id: str) -> AsyncIterator[None]:
    """Another transaction holding the job's row, as a trigger of that job does."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await conn.execute("SELECT id FROM jobs WHERE id = %s FOR UPDATE", (job_id,))
        yield
        await conn.rollback()


@pytest.mark.parametrize("starting_first", [True, False], ids=["start-first", "start-second"])
async def test_a_report_and_a_heartbeat_meet_while_a_trigger_holds_the_job_without_deadlock(
    store: SqlStore, clock: FakeClock, db_url: str, starting_first: bool
) -> None:
    # The reported deadlock: a report that started run S and completed run C of one job paused
    # on the job's row (held by a trigger) while holding S; a heartbeat locking C then S closed
    # the cycle. A report no longer writes its runs' job (the job's status is a projection),
    # so it never waits on the job's row, and it locks its runs in one statement by id, as the
    # heartbeat does: with a trigger holding the job, both finish.
    job = await add_job(store, clock, "pair", on_overlap="allow", concurrency=10)
    wid = await add_worker(store, clock)
    for _ in range(2):
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    first, second = await claim(store, clock, wid)
    s, c = (first, second) if starting_first else (second, first)
    owned = [(a.run_id, a.fence) for a in (first, second)]
    async with trigger_in_progress(db_url, job.id):
        report = asyncio.create_task(
            store.reports.apply(
                wid,
                starts=[(s.run_id, s.fence)],
                completions=[Completion(run_id=c.run_id, fence=c.fence, outcome="completed")],
                limit=10_000,
                now=clock.now(),
            )
        )
        beat = asyncio.create_task(
            store.workers.heartbeat(wid, runs=owned, lease=30, now=clock.now())
        )
        async with asyncio.timeout(10):  # neither waits for the trigger's job row
            done = await report
            result = await beat
    assert [r.ok for r in done.starts] == [True] and [r.ok for r in done.completions] == [True]
    assert result.stale == [(c.run_id)] or result.stale == []
    run = await store.runs.get(c.run_id)
    assert run is not None and run.status == "completed"


async def test_a_heartbeat_that_loses_a_deadlock_to_foreign_sql_retries_instead_of_failing(
    store: SqlStore, clock: FakeClock, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # the store's own retry, this time
    job = await add_job(store, clock, "foreign", on_overlap="allow", concurrency=10)
    wid = await add_worker(store, clock)
    for _ in range(2):
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    held = await claim(store, clock, wid)
    low, high = sorted(a.run_id for a in held)
    async with await psycopg.AsyncConnection.connect(db_url) as foreign:
        # locks the higher run, then (once the heartbeat holds the lower one) the lower one:
        # against the lock order, so the two wait on each other and PostgreSQL aborts one
        await foreign.execute("SELECT 1 FROM runs WHERE id = %s FOR UPDATE", (high,))
        named = [(a.run_id, a.fence) for a in held]
        beat = asyncio.create_task(
            store.workers.heartbeat(wid, runs=named, lease=30, now=clock.now())
        )
        await wait_until_blocked_on_a_lock(db_url)
        with contextlib.suppress(psycopg.errors.DeadlockDetected):
            await foreign.execute("SELECT 1 FROM runs WHERE id = %s FOR UPDATE", (low,))
        await foreign.rollback()
        result = await beat
    assert result.stale == [] and result.cancel == []


class Load:
    """A worker fleet, users and the reaper all at once, on two jobs' runs."""

    def __init__(self, store: SqlStore, clock: FakeClock, jobs: dict[str, str], rng: random.Random):
        self.store = store
        self.clock = clock
        self.jobs = jobs
        self.rng = rng
        self.held: dict[str, dict[str, int]] = {}  # worker → run → fence

    def ops(self, workers: list[str], doomed: str | None) -> list[Awaitable[Any]]:
        ops: list[Awaitable[Any]] = []
        for wid in workers:
            ops += [self.claim(wid), self.heartbeat(wid), self.report(wid), self.report(wid)]
        if doomed is not None:  # a job deleted while its runs are claimed and reported on
            ops.append(self.store.jobs.delete(doomed, now=self.clock.now()))
        ops += [
            self.retry_one(),
            self.trigger("supersede"),
            self.trigger("limited"),
            self.store.runs.bulk(
                [NewRun(job_id=self.jobs["free"], trigger="manual") for _ in range(4)],
                now=self.clock.now(),
            ),
            self.cancel_one(),
            self.bulk_cancel(),
            self.store.bulk.runs_cancel(
                RunSelection(job_id=self.jobs["limited"], statuses=("queued",)),
                by="load",
                now=self.clock.now(),
            ),
            self.store.bulk.runs_retry(
                RunSelection(job_id=self.jobs["free"]), now=self.clock.now()
            ),
            self.store.bulk.dead_letters_replay(
                DeadLetterSelection(job_id=self.jobs["free"]), note=None, now=self.clock.now()
            ),
            # two coordinators' reapers (every coordinator reaps; each step of a pass looks
            # first and opens a write transaction only for work it found)
            self.store.reaper.reap(now=self.clock.now() + timedelta(seconds=45), lost_after=40),
            self.store.reaper.reap(now=self.clock.now() + timedelta(seconds=45), lost_after=40),
            self.store.schedule.fire(now=self.clock.now(), limit=10, planner=self.plan),
        ]
        self.rng.shuffle(ops)
        return ops

    def plan(self, job: Any, calendar: Any = None) -> tuple[TickPlan, Any]:
        now = self.clock.now()
        return TickPlan(fire=[now]), now + timedelta(seconds=1)

    async def claim(self, wid: str) -> None:
        got = await claim(self.store, self.clock, wid, limit=6)
        for a in got:
            self.held.setdefault(wid, {})[a.run_id] = a.fence

    async def heartbeat(self, wid: str) -> None:
        runs = list(self.held.get(wid, {}).items())
        await self.store.workers.heartbeat(wid, runs=runs, lease=30, now=self.clock.now())

    async def report(self, wid: str) -> None:
        runs = list(self.held.get(wid, {}).items())
        self.rng.shuffle(runs)
        starts, ends = runs[: len(runs) // 2], runs[len(runs) // 2 :]
        logs = [(r, f, "stdout", "x\n") for r, f in runs]
        done = [
            Completion(run_id=r, fence=f, outcome=self.rng.choice(["completed", "failed"]))
            for r, f in ends[:3]
        ]
        await self.store.reports.apply(
            wid, starts=starts, logs=logs, completions=done, limit=10_000, now=self.clock.now()
        )
        for c in done:
            self.held[wid].pop(c.run_id, None)

    async def trigger(self, name: str) -> None:
        await self.store.runs.trigger(
            NewRun(job_id=self.jobs[name], trigger="manual"), now=self.clock.now()
        )

    async def retry_one(self) -> None:
        runs, _, _ = await self.store.runs.page(RunFilter(status="cancelled"), limit=5, cursor=None)
        if runs:
            await self.store.runs.requeue(
                self.rng.choice(runs).id,
                trigger="manual",
                now=self.clock.now(),
                resolution="retried",
            )

    async def bulk_cancel(self) -> None:
        everything = sorted(r for runs in self.held.values() for r in runs)
        picked = self.rng.sample(everything, min(3, len(everything)))
        if picked:
            await self.store.bulk.runs_cancel(
                RunSelection(ids=tuple(picked)), by="load", now=self.clock.now()
            )

    async def cancel_one(self) -> None:
        everything = [r for runs in self.held.values() for r in runs]
        if everything:
            await self.store.runs.cancel(self.rng.choice(everything), now=self.clock.now())


async def test_heartbeats_reports_claims_cancels_ticks_and_the_reaper_together_never_deadlock(
    store: SqlStore, clock: FakeClock
) -> None:
    jobs = {
        "free": (await add_job(store, clock, "free", on_overlap="allow", concurrency=100)).id,
        "supersede": (await add_job(store, clock, "supersede", on_overlap="cancel_previous")).id,
        "limited": (
            await add_job(
                store, clock, "limited", on_overlap="queue", concurrency=3, start_deadline=2
            )
        ).id,
        "ticking": (
            await add_job(store, clock, "ticking", schedule="1s", on_overlap="cancel_previous")
        ).id,
    }
    # a dependent of every kind of edge: reports, cancels (single and bulk) and the reaper's
    # missed runs and expired leases all end runs that may queue its runs
    free, supersede, limited = (jobs[n] for n in ("free", "supersede", "limited"))
    dependent = await add_job(
        store,
        clock,
        "dependent",
        deps=[await store.jobs.get(j) for j in (free, supersede, limited)],  # type: ignore[misc]
        on={"free": "failure", "supersede": "done", "limited": "done"},
        trigger_rule="any",
        on_overlap="allow",
        concurrency=100,
    )
    workers = [await add_worker(store, clock, f"worker-{i}") for i in range(3)]
    load = Load(store, clock, jobs, random.Random(3))
    failures: list[BaseException] = []
    doomed: str | None = None
    for i in range(ROUNDS):
        results = await asyncio.gather(*load.ops(workers, doomed), return_exceptions=True)
        doomed = (await add_job(store, clock, f"doomed-{i}", on_overlap="allow")).id
        await store.runs.bulk([NewRun(job_id=doomed, trigger="manual")] * 3, now=clock.now())
        failures += [
            r
            for r in results
            if isinstance(r, BaseException) and not isinstance(r, (Conflict, NotFound))
        ]
        clock.advance(1)
    seen = {e.type for e in await store.events.since(0, limit=100_000)}
    assert seen >= {  # every kind of writer took part
        "run.started",
        "run.completed",
        "run.retrying",
        "run.cancelling",
        "run.cancelled",
        "run.missed",
        "worker.lost",
        "job.deleted",
    }
    cancelled, _, _ = await store.runs.page(RunFilter(status="cancelled"), limit=500, cursor=None)
    assert "load" in {r.cancelled_by for r in cancelled}  # bulk cancels took part too
    _, fired, _ = await store.runs.page(RunFilter(job_id=dependent.id), limit=1, cursor=None)
    assert fired.count > 0  # the trigger rules took part
    deadlocks = [f for f in failures if is_lock_conflict(f)]
    assert not deadlocks, f"{len(deadlocks)} deadlocks, first: {deadlocks[0]}"
    assert not failures, failures[:3]
