"""Claims waiting on a worker's long-poll wake when a run becomes claimable, not at their next
poll: a run of a concurrency-1 job when the one before it finishes, a retry when it is due."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tickwork.domain.clock import FakeClock
from tickwork.domain.runs import Completion
from tickwork.service.container import Container
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
