"""The claim a report carries, made in the report's own transaction where it can.

On PostgreSQL a report that only completes runs it owns (the happy path) sends the bypassing
claim with its finishes and commits both at once: one commit a cycle instead of two. Where
the claim would have to lock jobs (a candidate counts its job's running runs), or on SQLite,
or off the happy path, the report answers ``claimed=None`` and the caller claims on its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from tickwork.domain.clock import FakeClock
from tickwork.domain.queries import NewRun
from tickwork.domain.quotas import RateLimit
from tickwork.domain.records import ClaimAsk, Report
from tickwork.domain.runs import Assignment, Completion
from tickwork.store import tables as t
from tickwork.store.sql import SqlStore

from .helpers import add_job, add_worker, claim


async def queue(store: SqlStore, clock: FakeClock, job_id: str, n: int) -> list[str]:
    made = await store.runs.bulk(
        [NewRun(job_id=job_id, trigger="manual") for _ in range(n)], now=clock.now()
    )
    return [run_id for run_id, _ in made]


def ask(wid: str = "worker-a", limit: int = 5) -> ClaimAsk:
    return ClaimAsk(worker_id=wid, routes=["default"], limit=limit, lease=30, ack_timeout=10)


async def finish(
    store: SqlStore, clock: FakeClock, done: list[Assignment], outcome: str = "completed", **kw: Any
) -> Report:
    """A report of ``done``'s starts and ends (a short run's start travels with its end)."""
    return await store.reports.apply(
        "worker-a",
        starts=[(a.run_id, a.fence) for a in done],
        completions=[Completion(run_id=a.run_id, fence=a.fence, outcome=outcome) for a in done],
        limit=10_000,
        now=clock.now(),
        **kw,
    )


async def statuses(store: SqlStore) -> dict[str, tuple[str, str | None]]:
    async with store.db.read() as conn:
        rows = await conn.execute(sa.select(t.runs.c.id, t.runs.c.status, t.runs.c.worker_id))
        return {r.id: (r.status, r.worker_id) for r in rows}


async def test_a_completing_report_claims_in_its_own_commit_on_postgresql(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "wide", on_overlap="allow", parameters={"n": 1})
    ids = sorted(await queue(store, clock, job.id, 4))
    wid = await add_worker(store, clock)
    first = await claim(store, clock, wid, limit=1)
    clock.advance(1)
    out = await finish(store, clock, first, claim=ask(limit=2))
    assert [c.ok for c in out.completions] == [True]
    rows = await statuses(store)
    assert rows[first[0].run_id] == ("completed", wid)
    if not store.db.is_postgres:
        assert out.claimed is None  # SQLite: the caller claims on its own
        assert [rows[i][0] for i in ids[1:]] == ["queued"] * 3
        return
    assert out.claimed is not None
    assert [a.run_id for a in out.claimed] == ids[1:3]  # the claim's order
    assert all(a.fence == 1 and a.job_name == "wide" for a in out.claimed)
    assert out.claimed[0].parameters == {"n": 1} and out.claimed[0].worker_id == wid
    assert out.claimed[0].lease_expires_at > clock.now()
    assert [rows[i] for i in ids[1:3]] == [("running", wid)] * 2
    assert rows[ids[3]] == ("queued", None)


async def test_a_limited_candidate_is_claimed_in_the_reports_commit_within_its_room(
    store: SqlStore, clock: FakeClock
) -> None:
    """A run of a job counting its running runs: the one-statement claim finds it not free
    and changes nothing (the report still commits); the routes' next carried claims count
    the job's running runs after the report's finishes, in the same transaction, so the
    room a finishing run frees is refilled at once, and no more than that."""
    wide = await add_job(store, clock, "wide", on_overlap="allow")
    serial = await add_job(store, clock, "serial", on_overlap="queue", concurrency=1)
    await queue(store, clock, wide.id, 1)
    wid = await add_worker(store, clock)
    first = await claim(store, clock, wid, limit=1)
    clock.advance(1)
    waiting = await queue(store, clock, serial.id, 3)
    out = await finish(store, clock, first, claim=ask(limit=3))
    assert out.claimed is None
    rows = await statuses(store)
    assert rows[first[0].run_id][0] == "completed"
    assert [rows[i][0] for i in waiting] == ["queued"] * 3  # the claim changed nothing
    [running] = await claim(store, clock, wid, limit=3)  # concurrency 1: one of three
    assert running.job_name == "serial"
    out = await finish(store, clock, [running], claim=ask(limit=3))
    rows = await statuses(store)
    assert rows[running.run_id][0] == "completed"
    if not store.db.is_postgres:
        assert out.claimed is None
        return
    assert out.claimed is not None and len(out.claimed) == 1  # the room it freed
    assert out.claimed[0].job_name == "serial"
    assert sorted(s for s, _ in rows.values()).count("running") == 1


async def test_a_quota_or_rate_limit_leaves_the_claim_to_its_own_transaction(
    store: SqlStore, clock: FakeClock
) -> None:
    """Quota and rate-limit rows must be locked waiting, before any run: a candidate they
    touch sends the carried claim to a transaction of its own (``claimed`` None), and the
    report commits all the same."""
    serial = await add_job(store, clock, "serial", on_overlap="queue", concurrency=5)
    limited = await add_job(
        store, clock, "limited", on_overlap="queue", rate_limit=RateLimit(max=10, per="1m")
    )
    await queue(store, clock, serial.id, 1)
    wid = await add_worker(store, clock)
    first = await claim(store, clock, wid, limit=1)
    clock.advance(1)
    waiting = await queue(store, clock, limited.id, 2)
    out = await finish(store, clock, first, claim=ask(limit=3))
    assert out.claimed is None
    rows = await statuses(store)
    assert rows[first[0].run_id][0] == "completed"
    assert [rows[i][0] for i in waiting] == ["queued", "queued"]


async def test_a_report_off_the_happy_path_claims_nothing_itself(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "wide", on_overlap="allow")
    waiting = sorted(await queue(store, clock, job.id, 3))
    wid = await add_worker(store, clock)
    first = await claim(store, clock, wid, limit=1)
    out = await finish(store, clock, first, outcome="failed", claim=ask())
    assert out.claimed is None and [c.ok for c in out.completions] == [True]
    rows = await statuses(store)
    assert [rows[i][0] for i in waiting[1:]] == ["queued", "queued"]


async def test_a_claim_of_nothing_queued_is_an_empty_list_not_a_fallback(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "wide", on_overlap="allow")
    await queue(store, clock, job.id, 1)
    wid = await add_worker(store, clock)
    first = await claim(store, clock, wid, limit=1)
    out = await finish(store, clock, first, claim=ask())
    assert out.claimed == ([] if store.db.is_postgres else None)


async def test_concurrent_carried_claims_keep_a_jobs_concurrency_and_drain_it(
    store: SqlStore, clock: FakeClock
) -> None:
    """Three workers whose reports each carry the next claim, racing on a job that allows
    two running runs and an ``allow`` job beside it: never more than two of the first
    running at once, every run done exactly once, no deadlock."""
    pair = await add_job(store, clock, "pair", on_overlap="queue", concurrency=2)
    wide = await add_job(store, clock, "wide", on_overlap="allow")
    runs = {*(await queue(store, clock, pair.id, 24)), *(await queue(store, clock, wide.id, 12))}
    workers = [await add_worker(store, clock, f"worker-{i}") for i in range(3)]
    done: list[str] = []
    peaks: list[int] = []

    async def running_pairs() -> int:
        async with store.db.read() as conn:
            return int(
                (
                    await conn.execute(
                        sa.select(sa.func.count()).where(
                            t.runs.c.job_id == pair.id, t.runs.c.status == "running"
                        )
                    )
                ).scalar_one()
            )

    async def work(wid: str) -> None:
        held = await claim(store, clock, wid, limit=2)
        for _ in range(100):
            if not held:
                held = await claim(store, clock, wid, limit=2)  # the claim loop's own
                if not held:
                    return
            peaks.append(await running_pairs())
            out = await store.reports.apply(
                wid,
                starts=[(a.run_id, a.fence) for a in held],
                completions=[
                    Completion(run_id=a.run_id, fence=a.fence, outcome="completed") for a in held
                ],
                limit=10_000,
                now=clock.now(),
                claim=ask(wid, limit=2),
            )
            assert all(c.ok for c in out.completions)
            done.extend(a.run_id for a in held)
            held = list(out.claimed or [])

    await asyncio.gather(*(work(w) for w in workers))
    assert sorted(done) == sorted(runs)  # each once
    assert max(peaks) <= 2
    assert (await running_pairs()) == 0
