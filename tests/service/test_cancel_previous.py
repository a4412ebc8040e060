"""on_overlap=cancel_previous reaches the running run's worker at once, as a cancel does: its
long-polled heartbeat returns with the run to stop, rather than at the end of the poll."""

from __future__ import annotations

import asyncio

import pytest

from tickwork.domain.clock import FakeClock
from tickwork.domain.records import HeartbeatResult
from tickwork.service.container import Container
from tickwork.testing import job_spec

POLL = 30.0  # the heartbeat long-poll: far longer than the answer may take


async def running_run(app: Container, name: str) -> tuple[str, str, int]:
    """The job's run, claimed and started by a worker: (run id, worker id, fence)."""
    worker = await app.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=1, version="t"
    )
    run_id, _, _ = await app.jobs.trigger(name)
    [a] = await app.workers.claim(worker.id, limit=1, wait=0)
    await app.workers.report(worker.id, starts=[(run_id, a.fence)], logs=[], completions=[])
    return run_id, worker.id, a.fence


async def long_poll(
    app: Container, worker_id: str, run_id: str, fence: int, monkeypatch: pytest.MonkeyPatch
) -> asyncio.Task[HeartbeatResult]:
    """A heartbeat held open: it has written, subscribed to its worker's wake-ups and found
    nothing to stop yet (it looks once more after subscribing, then waits)."""
    listening = asyncio.Event()
    looked = app.store.workers.cancels

    async def look(wid: str) -> list[str]:
        found = await looked(wid)
        listening.set()
        return found

    monkeypatch.setattr(app.store.workers, "cancels", look)
    beat = asyncio.create_task(app.workers.heartbeat(worker_id, [(run_id, fence)], POLL))
    await asyncio.wait_for(listening.wait(), 5)
    assert not beat.done()
    return beat


async def test_a_trigger_that_supersedes_a_running_run_wakes_its_worker(
    app: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    await app.jobs.create(job_spec("latest-only", on_overlap="cancel_previous"))
    old, worker, fence = await running_run(app, "latest-only")
    beat = await long_poll(app, worker, old, fence, monkeypatch)
    new, status, created = await app.jobs.trigger("latest-only")
    answer = await asyncio.wait_for(beat, 5)  # not at the end of the 30 s poll
    assert answer.cancel == [old]
    assert (new != old, status, created) == (True, "queued", True)
    run = await app.runs.get(old)
    assert (run.status, run.cancel_requested) == ("running", True)  # until its worker reports


async def test_a_tick_that_supersedes_a_running_run_wakes_its_worker(
    app: Container, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = await app.jobs.create(
        job_spec("ticking", schedule="every 1m", on_overlap="cancel_previous")
    )
    old, worker, fence = await running_run(app, "ticking")
    beat = await long_poll(app, worker, old, fence, monkeypatch)
    assert job.next_run is not None
    clock.advance((job.next_run - clock.now()).total_seconds() + 0.1)
    await app.scheduler.run_once()
    answer = await asyncio.wait_for(beat, 5)
    assert answer.cancel == [old]
