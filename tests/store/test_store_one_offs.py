"""One-off runs in the store, on both backends: the run and its hidden definition are written
together; the run is claimed, retried and completed like a job's; the definition is in no job
list, count, lookup or quota of jobs; an idempotency key makes one run; retention removes
the definition with its run, and keeps one with an open dead letter."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.domain.namespaces import EVERY_NAMESPACE
from tickwork.domain.oneoff import OneOff, one_off
from tickwork.domain.queries import JobFilter, NewRun
from tickwork.domain.quotas import Quotas
from tickwork.domain.runs import Completion
from tickwork.service.metrics import Metrics
from tickwork.service.retention import Pruner
from tickwork.store import tables as t
from tickwork.store.sql import SqlStore
from tickwork.testing import job_spec

from .helpers import add_job, add_worker, claim, complete, start


def shell(
    clock: FakeClock, *, label: str | None = None, key: str | None = None, **fields: object
) -> OneOff:
    spec = job_spec("ignored", command="echo one-off", **fields)
    return one_off(spec, label=label, idempotency_key=key, now=clock.now())


async def rows(store: SqlStore, table: sa.Table) -> int:
    async with store.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def test_a_one_off_run_is_claimed_retried_and_completed(
    store: SqlStore, clock: FakeClock
) -> None:
    item = shell(clock, label="migrate", retries=1, retry_delay=2, tags=("ops",))
    done = await store.one_offs.submit(item, now=clock.now())
    assert (done.run_id, done.status, done.created) == (item.run_id, "queued", True)
    run = await store.runs.get(item.run_id)
    assert run is not None
    assert (run.one_off, run.job_name, run.max_attempts, run.status) == (
        True,
        "migrate",
        2,
        "queued",
    )
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    assert (a.run_id, a.job_type, a.target["command"]) == (item.run_id, "shell", "echo one-off")
    await start(store, [(a.run_id, a.fence, wid)], now=clock.now())
    fail = Completion(run_id=a.run_id, fence=a.fence, outcome="failed", exit_code=1, error="1")
    [res] = await complete(store, [fail], worker_id=wid, now=clock.now())
    assert res.status == "queued"  # its retry
    clock.advance(3)
    [b] = await claim(store, clock, wid)
    ok = Completion(run_id=b.run_id, fence=b.fence, outcome="completed", exit_code=0)
    [res] = await complete(store, [ok], worker_id=wid, now=clock.now())
    assert res.status == "completed"
    spec = await store.one_offs.spec(item.run_id)
    assert spec is not None and (spec.name, spec.tags, spec.retries) == ("migrate", ("ops",), 1)


async def test_the_definition_is_no_job(store: SqlStore, clock: FakeClock) -> None:
    job = await add_job(store, clock, "real")
    item = shell(clock)
    await store.one_offs.submit(item, now=clock.now())
    run = await store.runs.get(item.run_id)
    assert run is not None and run.job_name == item.run_id
    hidden = run.job_id
    jobs, total, _ = await store.jobs.page(JobFilter(), limit=50, cursor=None)
    assert ([j.id for j in jobs], total.count) == ([job.id], 1)
    assert await store.jobs.get(hidden) is None
    assert await store.jobs.get(item.run_id) is None  # nor by its (the run's) name
    assert await store.jobs.resolve([hidden, item.run_id, "real"]) == {"real": (job.id, "real")}
    assert await store.jobs.namespace_counts(EVERY_NAMESPACE) == {"default": 1}
    overview = await store.stats.overview(now=clock.now())
    assert (overview["jobs"], overview["jobs_enabled"]) == (1, 1)
    await store.quotas.set("default", Quotas(max_jobs=1), now=clock.now())
    usage = await store.quotas.usage(["default"], {"default": Quotas(max_jobs=1)}, now=clock.now())
    assert usage["default"].jobs == 1
    assert await store.one_offs.spec(run.id) is not None
    assert await store.one_offs.spec("run-nosuchrun") is None


async def test_one_key_one_run(store: SqlStore, clock: FakeClock) -> None:
    first = await store.one_offs.submit(shell(clock, key="k-1"), now=clock.now())
    again = await store.one_offs.submit(shell(clock, key="k-1", retries=0), now=clock.now())
    other = await store.one_offs.submit(
        shell(clock, key="k-1", namespace="elsewhere"), now=clock.now()
    )
    assert first.created and not again.created and other.created
    assert again.run_id == first.run_id != other.run_id
    run = await store.runs.get(first.run_id)
    assert run is not None and run.idempotency_key == "k-1" and run.max_attempts == 4
    assert await rows(store, t.runs) == 2 and await rows(store, t.jobs) == 2


async def test_racing_submissions_of_one_key_make_one_run(
    store: SqlStore, clock: FakeClock
) -> None:
    items = [shell(clock, key="race") for _ in range(8)]
    done = await asyncio.gather(*(store.one_offs.submit(i, now=clock.now()) for i in items))
    assert sum(d.created for d in done) == 1
    assert {d.run_id for d in done} == {items[0].run_id}
    assert await rows(store, t.runs) == 1 and await rows(store, t.jobs) == 1


def pruner(store: SqlStore, clock: FakeClock) -> Pruner:
    settings = Settings(retain_runs_days=30, prune_batch=10, prune_pause=0)
    return Pruner(store, clock, settings, lambda: True, Metrics())


async def test_retention_removes_the_definition_with_its_run(
    store: SqlStore, clock: FakeClock
) -> None:
    wid = await add_worker(store, clock)
    kept, letter, young = shell(clock, label="old"), shell(clock, retries=0), None
    await store.one_offs.submit(kept, now=clock.now())
    await store.one_offs.submit(letter, now=clock.now())
    for a in await claim(store, clock, wid):
        outcome = "completed" if a.run_id == kept.run_id else "failed"
        done = Completion(run_id=a.run_id, fence=a.fence, outcome=outcome, error="x")
        await complete(store, [done], worker_id=wid, now=clock.now())
    clock.advance(timedelta(days=20).total_seconds())
    young = shell(clock)
    await store.one_offs.submit(young, now=clock.now())
    clock.advance(timedelta(days=15).total_seconds())
    job = await add_job(store, clock, "plain")  # a job's only (latest) run stays
    assert await rows(store, t.jobs) == 4

    p = pruner(store, clock)
    dry, _ = await p.prune_now(dry_run=True)
    assert dry.runs == 1
    counts, _ = await p.round(clock.now())
    assert counts.runs == 1
    assert await store.runs.get(kept.run_id) is None
    assert await store.runs.get(letter.run_id) is not None  # an open dead letter stays
    assert await store.runs.get(young.run_id) is not None  # queued 15 days ago
    async with store.db.read() as conn:
        left = set((await conn.execute(sa.select(t.jobs.c.name))).scalars())
    assert left == {letter.run_id, young.run_id, job.name}
    assert await rows(store, t.attempts) == 1  # the dead-lettered run's

    letters, _ = await store.dead_letters.page(resolved=False, limit=10, offset=0)
    await store.dead_letters.resolve(letters[0].id, now=clock.now())
    counts, _ = await p.round(clock.now())
    assert counts.runs == 1
    assert await store.runs.get(letter.run_id) is None
    assert await rows(store, t.dead_letters) == 0 and await rows(store, t.jobs) == 2


async def test_no_status_is_kept_for_the_definition(store: SqlStore, clock: FakeClock) -> None:
    """The job-status projection passes the hidden definition by: no job list shows it, so
    following its run would be a write of the jobs table and a ``job.status`` event for
    nothing, at every state of every one-off run."""
    item = shell(clock)
    await store.one_offs.submit(item, now=clock.now())
    run = await store.runs.get(item.run_id)
    assert run is not None
    job = await add_job(store, clock, "real", on_overlap="allow")
    await store.runs.bulk([NewRun(job_id=job.id, trigger="manual")], now=clock.now())
    assert await store.jobs.refresh_status([run.job_id, job.id], now=clock.now()) == [job.id]
    async with store.db.read() as conn:
        status = (
            await conn.execute(sa.select(t.jobs.c.last_run_status).where(t.jobs.c.id == run.job_id))
        ).scalar_one()
    assert status is None
    assert await store.jobs.unsettled() == [job.id]
