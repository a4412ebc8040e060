"""Retention on both backends: the store removes exactly what the domain rule says, in
batches, and nothing the rule protects (domain/retention.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.domain.queries import NewRun
from tickwork.domain.retention import PruneCounts, RetentionPolicy, RunFacts, run_prunable
from tickwork.domain.runs import Worker
from tickwork.service.metrics import Metrics
from tickwork.service.retention import Pruner
from tickwork.store import tables as t
from tickwork.store.sql import SqlStore

from .helpers import add_job

R = t.runs.c

# (days ago, status, dead letter: None / "open" / "resolved"), oldest first
HISTORY = [
    (100, "completed", None),
    (60, "completed", None),
    (45, "failed", "open"),
    (40, "failed", "resolved"),
    (35, "cancelled", None),
    (31, "running", None),
    (20, "missed", None),
    (10, "completed", None),
    (5, "failed", None),
    (1, "completed", None),
    (0.5, "queued", None),
    (0.1, "completed", None),
]
JOBS = {  # name → (retention_days, retention_runs)
    "plain": (None, None),
    "short": (2.0, None),
    "counted": (None, 3),
    "long": (90.0, None),
    "both": (15.0, 4),
}
POLICY = RetentionPolicy(runs_days=30, output_days=7, audit_days=30, workers_days=7)


def pruner(store: SqlStore, clock: FakeClock, *, batch: int) -> Pruner:
    settings = Settings(
        retain_runs_days=POLICY.runs_days,
        retain_output_days=POLICY.output_days,
        retain_audit_days=POLICY.audit_days,
        retain_workers_days=POLICY.workers_days,
        prune_batch=batch,
        prune_pause=0,
    )
    return Pruner(store, clock, settings, lambda: True, Metrics())


async def history(store: SqlStore, clock: FakeClock) -> dict[str, tuple[str, RunFacts, tuple]]:
    """Every job of ``JOBS`` with the runs of ``HISTORY``; run id → (job, facts, limits)."""
    now = clock.now()
    made: dict[str, tuple[str, RunFacts, tuple]] = {}
    for name, (days, keep) in JOBS.items():
        job = await add_job(
            store, clock, name, on_overlap="allow", retention_days=days, retention_runs=keep
        )
        runs = await store.runs.bulk(
            [NewRun(job_id=job.id, trigger="manual") for _ in HISTORY], now=now
        )
        async with store.db.write(now) as (conn, _events):
            pairs = zip(runs, HISTORY, strict=True)
            for i, ((run_id, _), (ago, status, letter)) in enumerate(pairs):
                queued = now - timedelta(days=ago)
                await conn.execute(
                    sa.update(t.runs)
                    .where(R.id == run_id)
                    .values(status=status, queued_at=queued, finished_at=queued)
                )
                if letter:
                    await conn.execute(
                        sa.insert(t.dead_letters).values(
                            id=f"dl-{run_id}",
                            run_id=run_id,
                            job_id=job.id,
                            error="boom",
                            attempts=1,
                            created_at=queued,
                            resolved_at=queued if letter == "resolved" else None,
                        )
                    )
                facts = RunFacts(
                    status=status,
                    queued_at=queued,
                    newer_runs=len(HISTORY) - 1 - i,
                    open_dead_letter=letter == "open",
                )
                made[run_id] = (name, facts, (days, keep))
    return made


async def remaining(store: SqlStore) -> set[str]:
    async with store.db.read() as conn:
        return set((await conn.execute(sa.select(R.id))).scalars())


async def test_runs_go_exactly_as_the_rule_says_in_batches(
    store: SqlStore, clock: FakeClock
) -> None:
    made = await history(store, clock)
    now = clock.now()
    expected_gone = {
        run_id
        for run_id, (_, facts, (days, keep)) in made.items()
        if run_prunable(facts, before=POLICY.runs_before(now, days), keep_last=keep)
    }
    # the rule at work in this history: every kind of job loses something, keeps something
    for name in JOBS:
        mine = {r for r, (job, _, _) in made.items() if job == name}
        assert mine & expected_gone and mine - expected_gone, name

    p = pruner(store, clock, batch=2)
    dry, more = await p.prune_now(dry_run=True)
    assert (dry.runs, more) == (len(expected_gone), False)
    assert await remaining(store) == set(made)  # a dry run deletes nothing

    rounds = 0
    backlog = True
    while backlog:
        counts, backlog = await p.round(now)
        rounds += 1
        assert counts.runs <= 2 * (1 + len(JOBS))  # a batch per pass and per own-limit job
    assert rounds > 2
    assert await remaining(store) == set(made) - expected_gone
    assert p.metrics.pruned.labels("runs")._value.get() == len(expected_gone)


async def test_what_a_pruned_run_takes_with_it(store: SqlStore, clock: FakeClock) -> None:
    made = await history(store, clock)
    [gone_with_letter] = [  # plain's 40-day-old failed run, its dead letter resolved
        r for r, (job, f, _) in made.items() if job == "plain" and f.queued_at == ago(clock, 40)
    ]
    await pruner(store, clock, batch=100).prune_now(dry_run=False)
    async with store.db.read() as conn:
        letters = set((await conn.execute(sa.select(t.dead_letters.c.run_id))).scalars())
    assert gone_with_letter not in letters  # the resolved letter went with its run
    open_letters = {r for r, (_, f, _) in made.items() if f.open_dead_letter}
    assert open_letters <= letters  # unresolved ones, and their runs, stay
    assert open_letters <= await remaining(store)


async def test_each_jobs_latest_run_stays_however_old(store: SqlStore, clock: FakeClock) -> None:
    job = await add_job(store, clock, "rare", on_overlap="allow", retention_runs=1)
    now = clock.now()
    [(old, _), (older, _)] = await store.runs.bulk(
        [NewRun(job_id=job.id, trigger="manual") for _ in range(2)], now=now
    )
    async with store.db.write(now) as (conn, _events):
        for run_id, ago in ((old, 400), (older, 500)):
            queued = now - timedelta(days=ago)
            await conn.execute(
                sa.update(t.runs)
                .where(R.id == run_id)
                .values(status="completed", queued_at=queued, finished_at=queued)
            )
    counts, _ = await pruner(store, clock, batch=10).prune_now(dry_run=False)
    assert counts.runs == 1
    assert await remaining(store) == {old}


async def test_output_audit_workers_and_events_by_age(store: SqlStore, clock: FakeClock) -> None:
    now = clock.now()
    job = await add_job(store, clock, "chatty", on_overlap="allow")
    runs = [
        run_id
        for run_id, _ in await store.runs.bulk(
            [NewRun(job_id=job.id, trigger="manual") for _ in range(3)], now=now
        )
    ]
    ages = {runs[0]: 8, runs[1]: 6, runs[2]: 9}  # days since the attempt started
    async with store.db.write(now) as (conn, _events):
        for run_id, ago in ages.items():
            started = now - timedelta(days=ago)
            status = "running" if run_id == runs[2] else "completed"
            await conn.execute(
                sa.update(t.runs).where(R.id == run_id).values(status=status, attempt=1)
            )
            await conn.execute(
                sa.insert(t.attempts).values(
                    run_id=run_id,
                    number=1,
                    worker_id="w",
                    fence=1,
                    status="running",
                    started_at=started,
                    stdout="out " * 10,
                    stderr="err",
                    stdout_truncated=True,
                )
            )
        for days in (40, 20):
            await conn.execute(
                sa.insert(t.audit_log).values(
                    at=now - timedelta(days=days), actor="a", action="x", details={}
                )
            )
        await conn.execute(
            sa.insert(t.events).values(
                type="x", data={}, count=1, created_at=now - timedelta(hours=30)
            )
        )
    for wid, status, ago in (("gone", "lost", 8), ("recent", "offline", 2), ("up", "online", 30)):
        seen = now - timedelta(days=ago)
        await store.workers.register(
            Worker(
                id=wid,
                hostname="h",
                pid=1,
                tags=("default",),
                concurrency=1,
                version="t",
                status="online",
                registered_at=seen,
                last_heartbeat=seen,
            ),
            now=seen,
        )
        async with store.db.write(now) as (conn, _events):
            await conn.execute(
                sa.update(t.workers).where(t.workers.c.id == wid).values(status=status)
            )

    p = pruner(store, clock, batch=100)
    dry, _ = await p.prune_now(dry_run=True)
    counts, more = await p.prune_now(dry_run=False)
    assert not more
    assert counts == dry
    # the 6-day-old output stays; the running run's output stays however old it is
    assert (counts.output, counts.audit, counts.workers) == (1, 1, 1)
    assert counts.events >= 1

    pruned = (await store.runs.attempts(runs[0]))[0]
    assert (pruned.output_pruned, pruned.stdout, pruned.stderr) == (True, "", "")
    kept = (await store.runs.attempts(runs[1]))[0]
    assert not kept.output_pruned and kept.stdout.startswith("out")
    live = (await store.runs.attempts(runs[2]))[0]
    assert not live.output_pruned and live.stderr == "err"
    async with store.db.read() as conn:
        workers = set((await conn.execute(sa.select(t.workers.c.id))).scalars())
        audit_ages = [
            (now - at).days for at in (await conn.execute(sa.select(t.audit_log.c.at))).scalars()
        ]
    assert workers == {"recent", "up"}  # online workers stay, whatever their age
    assert 40 not in audit_ages and 20 in audit_ages
    assert (await p.prune_now(dry_run=True))[0] == PruneCounts()


async def test_a_follower_prunes_nothing(store: SqlStore, clock: FakeClock) -> None:
    await history(store, clock)
    before = await remaining(store)
    follower = Pruner(store, clock, Settings(prune_pause=0), lambda: False, Metrics())
    assert await follower.run_once() is False
    assert await remaining(store) == before


def ago(clock: FakeClock, days: float) -> datetime:
    return clock.now() - timedelta(days=days)


async def written_ahead_of_old_runs(
    store: SqlStore, clock: FakeClock, name: str, ages: list[float], **limits: object
) -> tuple[list[str], str]:
    """A job with completed runs ``ages`` days old (newest first) and, as the scheduler
    leaves it before a tick, its next run written ahead and waiting 30 s for its fire time:
    (the completed runs' ids, the waiting run's id)."""
    job = await add_job(store, clock, name, on_overlap="allow", **limits)
    now = clock.now()
    made = await store.runs.bulk(
        [NewRun(job_id=job.id, trigger="manual") for _ in range(len(ages) + 1)], now=now
    )
    *done, waiting = [run_id for run_id, _ in made]
    async with store.db.write(now) as (conn, _events):
        for run_id, ago in zip(done, ages, strict=True):
            queued = now - timedelta(days=ago)
            await conn.execute(
                sa.update(t.runs)
                .where(R.id == run_id)
                .values(status="completed", queued_at=queued, finished_at=queued)
            )
        due = now + timedelta(seconds=30)
        await conn.execute(
            sa.update(t.runs)
            .where(R.id == waiting)
            .values(scheduled_for=due, queued_at=due, not_before=due, ahead="allow")
        )
    return done, waiting


async def test_a_run_written_ahead_is_not_the_latest_run_before_its_tick(
    store: SqlStore, clock: FakeClock
) -> None:
    """A job's latest run stays however old, and keep-last-N keeps N runs that happened: a
    run written ahead of its tick and waiting for it counts for neither (it was counted as
    the newest, so a job on the server's limits lost its last run, and one keeping its last
    run kept none, whenever its next tick was near)."""
    [kept], waiting = await written_ahead_of_old_runs(store, clock, "monthly", [31])
    [last, *_], waiting_counted = await written_ahead_of_old_runs(
        store, clock, "counted", [400, 500], retention_runs=1
    )
    counts, _ = await pruner(store, clock, batch=10).prune_now(dry_run=False)
    assert counts.runs == 1  # the counted job's older run
    assert await remaining(store) == {kept, waiting, last, waiting_counted}
    clock.advance(31)  # both ticks come: the runs written ahead are now the latest
    async with store.db.write(clock.now()) as (conn, _events):
        await conn.execute(
            sa.update(t.runs)
            .where(R.id.in_([waiting, waiting_counted]))
            .values(status="completed", finished_at=clock.now())
        )
    counts, _ = await pruner(store, clock, batch=10).prune_now(dry_run=False)
    assert counts.runs == 2
    assert await remaining(store) == {waiting, waiting_counted}
