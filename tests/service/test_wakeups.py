"""Claims waiting on a worker's long-poll wake when a run becomes claimable, not at their next
poll: a run of a concurrency-1 job when the one before it finishes, a retry when it is due."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from tickwork.domain.clock import FakeClock
from tickwork.domain.runs import Completion
from tickwork.service.container import Container
from tickwork.store import tables as t
from tickwork.testing import job_spec

LONG = 30.0  # a long-poll that would hold this long if nothing woke it


async def test_a_finished_run_of_a_concurrency_1_job_wakes_the_claim_of_the_next(
    app: Container, clock: FakeClock
) -> None:
    await app.jobs.create(job_spec("one-at-a-time", concurrency=1, on_overlap="queue"))
    w = await app.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=2, version="t"
    )
    first, _, _ = await app.jobs.trigger("one-at-a-time")
    clock.advance(1)  # queued later: claimed after the first
    second, _, _ = await app.jobs.trigger("one-at-a-time")
    [a] = await app.workers.claim(w.id, limit=2, wait=0)
    assert a.run_id == first  # the second waits for the first: the job's concurrency
    waiting = asyncio.create_task(app.workers.claim(w.id, limit=1, wait=LONG))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    done = Completion(run_id=first, fence=a.fence, outcome="completed", elapsed=0.01)
    await app.workers.report(w.id, starts=[], logs=[], completions=[done])
    async with asyncio.timeout(0.5):  # not at the long-poll's 1 s re-check: woken at once
        [b] = await waiting
    assert b.run_id == second
    # how long the claim was held before it claimed: the worker's ack window starts there
    assert a.claim_held < 0.05 <= b.claim_held < 0.5


async def test_a_retry_wakes_waiting_claims_when_it_comes_due(
    app: Container, clock: FakeClock
) -> None:
    await app.jobs.create(job_spec("flaky", retries=1, retry_delay=0.3, backoff="fixed"))
    w = await app.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=1, version="t"
    )
    run_id, _, _ = await app.jobs.trigger("flaky")
    [a] = await app.workers.claim(w.id, limit=1, wait=0)
    failed = Completion(run_id=run_id, fence=a.fence, outcome="failed", error="boom")
    report = await app.workers.report(w.id, starts=[], logs=[], completions=[failed])
    due = report.completions[0].not_before
    assert due is not None and due > clock.now()
    woken = asyncio.Event()
    publish = app.notifier._publish

    async def spy(topic: str, message: str = "") -> None:
        if topic == "runs":
            woken.set()
        await publish(topic, message)

    app.notifier._publish = spy  # type: ignore[method-assign]
    wait = (due - clock.now()).total_seconds()
    async with asyncio.timeout(wait + 5):
        await woken.wait()  # the timer fires when the retry is due
    clock.set(due + timedelta(milliseconds=1))
    [again] = await app.workers.claim(w.id, limit=1, wait=0)
    assert again.run_id == run_id and again.attempt == 2


async def poll_waiting(app: Container, wid: str) -> None:
    """Until the worker's long-poll has looked once and waits (nobody claiming for it)."""
    async with asyncio.timeout(10):
        while (poll := app.workers._polls.get(wid)) is None or poll.owner is not None:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def finish_first_of_two(app: Container, clock: FakeClock) -> tuple[str, str, str, int]:
    """A concurrency-1 job with two runs, the first claimed: (worker, first, second, fence)."""
    await app.jobs.create(job_spec("one-at-a-time", concurrency=1, on_overlap="queue"))
    w = await app.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=2, version="t"
    )
    first, _, _ = await app.jobs.trigger("one-at-a-time")
    clock.advance(1)
    second, _, _ = await app.jobs.trigger("one-at-a-time")
    [a] = await app.workers.claim(w.id, limit=2, wait=0)
    assert a.run_id == first
    return w.id, first, second, a.fence


async def test_a_report_claims_for_its_workers_waiting_poll_in_its_own_commit(
    app: Container, clock: FakeClock
) -> None:
    """On PostgreSQL the report that ends the first run claims the next for the worker's
    long-poll in the same transaction (claimed when the first finished) and hands it over:
    the poll makes no claim of its own after the report. SQLite: the poll claims, woken."""
    wid, first, second, fence = await finish_first_of_two(app, clock)
    own: list[int] = []
    real = app.store.claims.claim

    async def counted(**kw: object) -> object:
        own.append(1)
        return await real(**kw)  # type: ignore[arg-type]

    app.store.claims.claim = counted  # type: ignore[method-assign]
    waiting = asyncio.create_task(app.workers.claim(wid, limit=1, wait=LONG))
    await poll_waiting(app, wid)
    assert not waiting.done() and own == [1]  # its first look found nothing
    clock.advance(0.5)
    done = Completion(run_id=first, fence=fence, outcome="completed", elapsed=0.01)
    out = await app.workers.report(wid, starts=[], logs=[], completions=[done])
    assert out.claimed is None  # the poll's runs go to the poll, not into this answer
    async with asyncio.timeout(0.5):
        [b] = await waiting
    assert b.run_id == second and b.worker_id == wid
    assert 0 < b.claim_held < 0.5
    async with app.store.db.read() as conn:
        times = dict(
            (
                await conn.execute(
                    sa.select(t.runs.c.id, t.runs.c.claimed_at).where(t.runs.c.id == second)
                )
            ).all()
        )
        ended = (
            await conn.execute(sa.select(t.runs.c.finished_at).where(t.runs.c.id == first))
        ).scalar_one()
    if app.store.db.is_postgres:
        assert own == [1]  # handed over by the report
        assert times[second] == ended  # claimed in the transaction that ended the first
    else:
        assert own == [1, 1]


async def test_runs_claimed_for_a_poll_that_went_away_go_back_to_the_queue(
    app: Container, clock: FakeClock
) -> None:
    wid, first, second, fence = await finish_first_of_two(app, clock)
    waiting = asyncio.create_task(app.workers.claim(wid, limit=1, wait=LONG))
    await poll_waiting(app, wid)
    real = app.store.reports.apply

    async def poll_leaves_first(*args: object, **kw: object) -> object:
        if kw.get("claim") is not None:  # the report claiming for the poll: it goes away
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
        return await real(*args, **kw)  # type: ignore[arg-type]

    app.store.reports.apply = poll_leaves_first  # type: ignore[method-assign]
    done = Completion(run_id=first, fence=fence, outcome="completed", elapsed=0.01)
    await app.workers.report(wid, starts=[], logs=[], completions=[done])
    back = await app.store.runs.get(second)
    assert back is not None and back.status == "queued"  # claimed, then handed back
    assert waiting.cancelled()


async def test_a_report_whose_claim_refilled_every_slot_it_freed_wakes_no_other_claim(
    app: Container, clock: FakeClock
) -> None:
    """The run that ends and the run claimed for the same job in the same transaction (on
    PostgreSQL): no other worker's waiting claim can take anything more, so none is woken.
    SQLite (no claim in the report's transaction): waiting claims are woken as before."""
    wid, first, second, fence = await finish_first_of_two(app, clock)
    woken: list[str] = []
    publish = app.notifier._publish

    async def spy(topic: str, message: str = "") -> None:
        woken.append(topic)
        await publish(topic, message)

    app.notifier._publish = spy  # type: ignore[method-assign]
    done = Completion(run_id=first, fence=fence, outcome="completed", elapsed=0.01)
    out = await app.workers.report(wid, starts=[], logs=[], completions=[done], claim=1)
    claimed = [a.run_id for a in out.claimed or []]
    assert claimed == [second]
    assert ("runs" in woken) is (not app.store.db.is_postgres)
