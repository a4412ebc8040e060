"""The run path's shape on both backends: what a run writes, and what it is read back as.

A short run's start comes with its completion, so the run is written once, started and
finished; a completed last attempt has no row of its own (the run tells it); one that did
not complete keeps a row; events are stored one row per job per transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tickwork.domain.clock import FakeClock
from tickwork.domain.queries import NewRun
from tickwork.domain.runs import Completion
from tickwork.store import tables as t
from tickwork.store.sql import SqlStore

from .helpers import add_job, add_worker, claim


async def queue(store: SqlStore, clock: FakeClock, job_id: str, n: int) -> list[str]:
    made = await store.runs.bulk(
        [NewRun(job_id=job_id, trigger="manual") for _ in range(n)], now=clock.now()
    )
    return [run_id for run_id, _ in made]


async def count(store: SqlStore, table: sa.Table) -> int:
    async with store.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def test_a_start_that_comes_with_the_completion_is_one_write_dated_back(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "short", on_overlap="allow", concurrency=10)
    [run_id] = await queue(store, clock, job.id, 1)
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    claimed_at = clock.now()
    clock.advance(0.5)
    report = await store.reports.apply(
        wid,
        starts=[(run_id, a.fence)],
        completions=[Completion(run_id=run_id, fence=a.fence, outcome="completed", elapsed=0.2)],
        limit=1000,
        now=clock.now(),
    )
    assert [r.ok for r in report.starts] == [True]
    assert [(r.ok, r.status) for r in report.completions] == [(True, "completed")]
    run = await store.runs.get(run_id)
    assert run is not None
    assert run.attempt == 1 and run.status == "completed"
    assert run.started_at == clock.now() - timedelta(seconds=0.2)  # the worker's own timing
    assert run.started_at > claimed_at and run.duration == 0.2
    assert await count(store, t.attempts) == 0  # the run itself tells its one attempt
    [attempt] = await store.runs.attempts(run_id)
    assert (attempt.number, attempt.status, attempt.fence) == (1, "completed", a.fence)
    assert attempt.started_at == run.started_at and attempt.finished_at == run.finished_at
    seen = [e for e in await store.events.since(0) if e.run_id == run_id]
    # the attempt still says it began (who follows a run learns its attempt and worker), in
    # the transaction's one outbox row, not a write of its own
    assert [e.type for e in seen] == ["run.queued", "run.started", "run.completed"]
    assert (seen[1].data["attempt"], seen[1].data["worker"]) == (1, wid)


async def test_an_elapsed_time_longer_than_the_claim_is_dated_from_the_claim(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "skewed", on_overlap="allow")
    [run_id] = await queue(store, clock, job.id, 1)
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    claimed_at = clock.now()
    clock.advance(1)
    done = Completion(run_id=run_id, fence=a.fence, outcome="completed", elapsed=30)
    await store.reports.apply(wid, completions=[done], limit=0, now=clock.now())
    run = await store.runs.get(run_id)
    assert run is not None and run.started_at == claimed_at and run.attempt == 1


async def test_an_attempt_that_fails_keeps_its_own_row_and_the_retry_its_own_number(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "flaky", on_overlap="allow", retries=2, retry_delay=1)
    [run_id] = await queue(store, clock, job.id, 1)
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    failed = Completion(run_id=run_id, fence=a.fence, outcome="failed", exit_code=3, error="no")
    [r] = (
        await store.reports.apply(wid, completions=[failed], limit=0, now=clock.now())
    ).completions
    assert r.status == "queued" and r.not_before is not None  # a retry, due later
    assert await count(store, t.attempts) == 1
    clock.set(r.not_before + timedelta(seconds=0.01))
    [b] = await claim(store, clock, wid)
    assert b.attempt == 2 and b.fence == a.fence + 1
    ok = Completion(run_id=run_id, fence=b.fence, outcome="completed", elapsed=0.1)
    await store.reports.apply(
        wid, starts=[(run_id, b.fence)], completions=[ok], limit=0, now=clock.now()
    )
    attempts = await store.runs.attempts(run_id)
    assert [(x.number, x.status, x.exit_code, x.error) for x in attempts] == [
        (1, "failed", 3, "no"),
        (2, "completed", None, None),
    ]
    repeat = await store.reports.apply(wid, completions=[failed], limit=0, now=clock.now())
    assert repeat.completions[0].ok  # attempt 1's identical report: its recorded outcome
    run = await store.runs.get(run_id)
    assert run is not None and run.status == "completed" and run.attempt == 2


async def test_a_running_attempt_is_told_by_the_run_with_the_output_its_row_holds(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "long", on_overlap="allow")
    [run_id] = await queue(store, clock, job.id, 1)
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    assert await store.runs.attempts(run_id) == []  # claimed, its start not confirmed yet
    await store.reports.apply(
        wid,
        starts=[(run_id, a.fence)],
        logs=[(run_id, a.fence, "stdout", "working\n")],
        limit=1000,
        now=clock.now(),
    )
    [attempt] = await store.runs.attempts(run_id)
    assert (attempt.number, attempt.status, attempt.stdout) == (1, "running", "working\n")
    run = await store.runs.get(run_id)
    assert run is not None and run.output == "working\n" and run.started_at == clock.now()


async def test_a_transaction_stores_one_events_row_per_job_and_ids_resume_inside_it(
    store: SqlStore, clock: FakeClock
) -> None:
    one = await add_job(store, clock, "one", on_overlap="allow", concurrency=10)
    two = await add_job(store, clock, "two", on_overlap="allow", concurrency=10)
    before = await count(store, t.events)
    made = await store.runs.bulk(
        [NewRun(job_id=j.id, trigger="manual") for j in (one, one, one, two)], now=clock.now()
    )
    assert await count(store, t.events) == before + 2  # one row per job
    queued = [e for e in await store.events.since(0) if e.type == "run.queued"]
    assert [e.run_id for e in queued] == [run_id for run_id, _ in made]
    ids = [e.id for e in queued]
    assert ids == sorted(ids) and len(set(ids)) == 4
    resumed = await store.events.since(ids[1])  # from the middle of the first job's row
    assert [e.id for e in resumed if e.type == "run.queued"] == ids[2:]
    assert await store.events.last_id() == max(ids)
    only = await store.events.since(0, job_id=two.id)
    assert [e.run_id for e in only if e.type == "run.queued"] == [made[3][0]]
    history = await store.events.history(limit=10, job_id=one.id, types=["run.queued"])
    assert [e.id for e in history] == list(reversed(ids[:3]))  # newest first
    older = await store.events.history(limit=10, before=ids[2], types=["run.queued"])
    assert [e.id for e in older] == list(reversed(ids[:2]))


async def test_history_pages_read_each_row_once_down_to_the_oldest(
    store: SqlStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paging back through history reads each stored row once: the row holding ``before`` may
    hold older events, the rows after it are read only below it (not again and again until a
    scan limit, which made the last page of a busy outbox take seconds)."""
    job = await add_job(store, clock, "pager", on_overlap="allow", concurrency=10)
    for _ in range(6):
        await store.runs.bulk([NewRun(job_id=job.id, trigger="manual")] * 2, now=clock.now())
    everything = await store.events.history(limit=500)
    reads: list[int] = []
    real = store.events._read

    async def counted(stmt: Any) -> list[Any]:
        rows = await real(stmt)
        reads.append(len(rows))
        return rows

    monkeypatch.setattr(store.events, "_read", counted)
    pages, before = [], None
    while page := await store.events.history(limit=3, before=before):
        pages += page
        before = page[-1].id
    assert [e.id for e in pages] == [e.id for e in everything]  # each once, newest first
    assert len(reads) <= 2 * len(everything) // 3 + 2  # a page of 3 takes one or two reads


async def test_a_released_claim_is_queued_again_at_once_without_an_attempt(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "prefetched", on_overlap="allow", concurrency=10)
    [kept, handed, started] = await queue(store, clock, job.id, 3)
    wid = await add_worker(store, clock)
    fences = {a.run_id: a.fence for a in await claim(store, clock, wid, limit=3)}
    await store.reports.apply(wid, starts=[(started, fences[started])], limit=0, now=clock.now())
    report = await store.reports.apply(
        wid,
        releases=[
            (handed, fences[handed]),
            (kept, fences[kept] + 1),  # not this worker's attempt
            (started, fences[started]),  # already started: it stays
        ],
        limit=0,
        now=clock.now(),
    )
    assert [(r.ok, r.status, r.error) for r in report.releases] == [
        (True, "queued", None),
        (False, "running", "stale_fence"),
        (False, "running", "stale_fence"),
    ]
    runs = {r: await store.runs.get(r) for r in (kept, handed, started)}
    assert {r: (x.status, x.attempt) for r, x in runs.items() if x} == {
        kept: ("running", 0),
        handed: ("queued", 0),
        started: ("running", 1),
    }
    other = await add_worker(store, clock, "worker-b")
    assert [a.run_id for a in await claim(store, clock, other, limit=3)] == [handed]


def count_settled_fast(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The runs each report settled on PostgreSQL's two-round-trip happy path."""
    from tickwork.store import reports_pg

    settled: list[int] = []
    real = reports_pg.finish

    async def spy(
        conn: Any, updates: list[dict[str, Any]], events: list[dict[str, Any]], claim: Any = None
    ) -> Any:
        settled.append(len(updates))
        return await real(conn, updates, events, claim)

    monkeypatch.setattr(reports_pg, "finish", spy)
    return settled


async def test_a_report_of_completions_only_takes_the_short_path_and_anything_else_the_long(
    store: SqlStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Completions that own their runs settle in two round trips on PostgreSQL; a report that
    also fails a run, repeats a stale fence or finishes a run with a dependent takes the
    general path in the same transaction. Either way each item gets its own answer."""
    fast = count_settled_fast(monkeypatch)
    job = await add_job(store, clock, "happy", on_overlap="allow", concurrency=10, retries=0)
    after = await add_job(store, clock, "after", deps=[job])
    ids = await queue(store, clock, job.id, 4)
    wid = await add_worker(store, clock)
    got = await claim(store, clock, wid, limit=4)
    clock.advance(1)

    def done(i: int, outcome: str = "completed") -> Completion:
        return Completion(run_id=got[i].run_id, fence=got[i].fence, outcome=outcome, elapsed=0.5)

    first = await store.reports.apply(
        wid, starts=[(got[0].run_id, got[0].fence)], completions=[done(0)], limit=0, now=clock.now()
    )
    second = await store.reports.apply(
        wid,
        completions=[done(1), done(2, "failed"), Completion(got[0].run_id, 99, "completed")],
        limit=0,
        now=clock.now(),
    )
    assert [(r.ok, r.status) for r in first.completions] == [(True, "completed")]
    assert [(r.ok, r.status, r.error) for r in second.completions] == [
        (True, "completed", None),
        (True, "failed", None),
        (False, "completed", "stale_fence"),
    ]
    assert {a.run_id for a in got} == set(ids)
    runs = [await store.runs.get(a.run_id) for a in got]
    assert [r.status for r in runs if r] == ["completed", "completed", "failed", "running"]
    assert runs[0] is not None and runs[0].attempt == 1 and runs[0].duration == 0.5
    # the dependent was queued by the general path (the upstream's lock taken by the first)
    queued = [
        e for e in await store.events.since(0) if e.type == "run.queued" and e.job_id == after.id
    ]
    assert len(queued) == 1
    assert fast == []  # a failure, a stale fence, a dependent: never the short path
    # without a dependent, a report of completions is the short path on PostgreSQL
    solo = await add_job(store, clock, "solo", on_overlap="allow", concurrency=10)
    more = await queue(store, clock, solo.id, 3)
    mine = [a for a in await claim(store, clock, wid, limit=10) if a.job_id == solo.id]
    assert {a.run_id for a in mine} == set(more)  # beside the dependent's run
    report = await store.reports.apply(
        wid,
        starts=[(a.run_id, a.fence) for a in mine],
        completions=[Completion(a.run_id, a.fence, "completed", elapsed=0.1) for a in mine],
        limit=0,
        now=clock.now(),
    )
    assert [(r.ok, r.status) for r in report.starts + report.completions] == [
        (True, "running")
    ] * 3 + [(True, "completed")] * 3
    assert fast == ([3] if store.db.is_postgres else [])
    seen = [e.type for e in await store.events.since(0) if e.run_id in more]
    assert sorted(seen) == sorted(["run.queued", "run.started", "run.completed"] * 3)
