"""The run lifecycle in the store: the same assertions on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tickwork.domain.clock import FakeClock
from tickwork.domain.errors import NotFound
from tickwork.domain.queries import NewRun, RunFilter
from tickwork.domain.records import Triggered
from tickwork.domain.runs import Completion
from tickwork.store.sql import SqlStore

from .helpers import add_job, add_worker, claim, complete, start
from .helpers import log as append_log


async def trigger(store: SqlStore, clock: FakeClock, job_id: str) -> Triggered:
    return await store.runs.trigger(NewRun(job_id=job_id, trigger="manual"), now=clock.now())


async def test_trigger_with_skip_returns_the_active_run(store: SqlStore, clock: FakeClock) -> None:
    job = await add_job(store, clock, "s")
    first = await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    second = await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    assert first.created is True and second.created is False
    assert first.run_id == second.run_id


async def test_trigger_with_queue_makes_new_runs_but_key_dedupes(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "q", on_overlap="queue")
    a = await store.runs.trigger(
        NewRun(job_id=job.id, trigger="manual", idempotency_key="k1"), now=clock.now()
    )
    b = await store.runs.trigger(
        NewRun(job_id=job.id, trigger="manual", idempotency_key="k1"), now=clock.now()
    )
    c = await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    assert a.run_id == b.run_id and b.created is False
    assert c.run_id != a.run_id and c.created is True
    run = await store.runs.get(a.run_id)
    assert run is not None and run.idempotency_key == "k1"


async def test_cancel_previous_cancels_queued(store: SqlStore, clock: FakeClock) -> None:
    job = await add_job(store, clock, "cp", on_overlap="cancel_previous")
    old = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    new = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    old_run, new_run = await store.runs.get(old), await store.runs.get(new)
    assert old_run is not None and old_run.status == "cancelled"
    assert new_run is not None and new_run.status == "queued"


async def test_cancel_previous_names_the_workers_of_running_runs_to_tell(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "cpr", on_overlap="cancel_previous")
    old = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    wid = await add_worker(store, clock)
    await claim(store, clock, wid)
    second = await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    assert second.stopping == [(old, wid)]
    old_run = await store.runs.get(old)
    assert old_run is not None and (old_run.status, old_run.cancel_requested) == ("running", True)
    third = await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    assert third.stopping == [(old, wid)]  # still running: asked again
    second_run = await store.runs.get(second.run_id)
    assert second_run is not None and second_run.status == "cancelled"  # queued: at once


async def test_claim_respects_routes_priority_and_concurrency(
    store: SqlStore, clock: FakeClock
) -> None:
    low = await add_job(store, clock, "low", on_overlap="queue", concurrency=2, priority=10)
    high = await add_job(store, clock, "high", priority=90)
    gpu = await add_job(store, clock, "gpu", worker_tags=("gpu",))
    for _ in range(3):
        await store.runs.trigger(NewRun(job_id=low.id, trigger="manual"), now=clock.now())
        clock.advance(1)
    await store.runs.trigger(NewRun(job_id=high.id, trigger="manual"), now=clock.now())
    await store.runs.trigger(NewRun(job_id=gpu.id, trigger="manual"), now=clock.now())
    wid = await add_worker(store, clock)
    got = await claim(store, clock, wid, limit=10)
    names = [a.job_name for a in got]
    assert names == ["high", "low", "low"]  # priority first; low capped at concurrency 2
    assert all(a.fence == 1 and a.worker_id == wid for a in got)
    assert await claim(store, clock, wid) == []
    gpu_claim = await claim(store, clock, wid, routes=("default", "gpu", "default,gpu"))
    assert [a.job_name for a in gpu_claim] == ["gpu"]


async def test_start_complete_and_identical_repeat(store: SqlStore, clock: FakeClock) -> None:
    job = await add_job(store, clock, "ok")
    run_id = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    [started] = await start(store, [(run_id, a.fence, wid)], now=clock.now())
    assert started.ok
    await append_log(store, [(run_id, a.fence, "stdout", "hello\n")], limit=1000, now=clock.now())
    clock.advance(2.5)
    done = Completion(
        run_id=run_id, fence=a.fence, outcome="completed", exit_code=0, result={"n": 1}
    )
    [r1] = await complete(store, [done], worker_id=wid, now=clock.now())
    [r2] = await complete(store, [done], worker_id=wid, now=clock.now())
    assert r1.ok and r1.status == "completed"
    assert r2.ok and r2.status == "completed"  # a retry after a lost reply is safe
    run = await store.runs.get(run_id)
    assert run is not None
    assert (run.status, run.duration, run.output, run.result) == (
        "completed",
        2.5,
        "hello\n",
        {"n": 1},
    )
    [att] = await store.runs.attempts(run_id)
    assert att.status == "completed" and att.worker_id == wid and att.stdout == "hello\n"
    got = await store.jobs.get(job.id)
    assert got is not None and got.status == "idle"  # the run path never writes the job …
    assert await store.jobs.refresh_status([job.id], now=clock.now()) == [job.id]
    got = await store.jobs.get(job.id)
    assert got is not None and got.status == "completed"  # … its status follows the runs
    assert await store.jobs.refresh_status([job.id], now=clock.now()) == []  # once


async def test_stale_fence_is_refused_and_changes_nothing(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "st")
    run_id = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    await start(store, [(run_id, a.fence, wid)], now=clock.now())
    stale = Completion(run_id=run_id, fence=a.fence + 5, outcome="completed")
    [res] = await complete(store, [stale], worker_id=wid, now=clock.now())
    assert not res.ok and res.error == "stale_fence"
    [log] = await append_log(store, [(run_id, 99, "stdout", "x")], limit=100, now=clock.now())
    assert not log.ok
    run = await store.runs.get(run_id)
    assert run is not None and run.status == "running" and run.output == ""


async def test_failure_retries_with_backoff_then_dead_letters(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "f", retries=1, retry_delay=4)
    run_id = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    fail = Completion(
        run_id=run_id, fence=a.fence, outcome="failed", exit_code=3, error="exit code 3"
    )
    [res] = await complete(store, [fail], worker_id=wid, now=clock.now())
    assert res.status == "queued"
    run = await store.runs.get(run_id)
    assert run is not None and run.not_before is not None
    delay = (run.not_before - clock.now()).total_seconds()
    assert 3.6 <= delay <= 4.4  # 4 s ± 10 % jitter
    assert await claim(store, clock, wid) == []  # not before its retry time
    clock.advance(5)
    [b] = await claim(store, clock, wid)
    assert b.fence == a.fence + 1
    fail2 = Completion(run_id=run_id, fence=b.fence, outcome="failed", error="again")
    [res2] = await complete(store, [fail2], worker_id=wid, now=clock.now())
    assert res2.status == "failed"
    dls, total = await store.dead_letters.page(resolved=False, limit=10, offset=0)
    assert total == 1 and dls[0].run_id == run_id and dls[0].attempts == 2
    attempts = await store.runs.attempts(run_id)
    assert [x.status for x in attempts] == ["failed", "failed"]
    await store.runs.requeue(run_id, trigger="replay", now=clock.now(), resolution="replayed")
    _, open_total = await store.dead_letters.page(resolved=False, limit=10, offset=0)
    assert open_total == 0
    run = await store.runs.get(run_id)
    assert run is not None and run.status == "queued" and run.idempotency_key == run_id


async def test_output_is_bounded_with_a_marker(store: SqlStore, clock: FakeClock) -> None:
    job = await add_job(store, clock, "big")
    run_id = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    await start(store, [(run_id, a.fence, wid)], now=clock.now())
    chunks = [(run_id, a.fence, "stdout", f"{i:04d}" * 10) for i in range(10)]
    await append_log(store, chunks, limit=100, now=clock.now())
    [att] = await store.runs.attempts(run_id)
    assert att.stdout_truncated
    assert len(att.stdout) == 100
    assert att.stdout.endswith("0009" * 10)


async def test_output_chunks_are_numbered_per_stream(store: SqlStore, clock: FakeClock) -> None:
    """run.log events carry seq; the attempt counts its chunks, so stored text and live chunks
    join exactly even when the output repeats itself."""
    job = await add_job(store, clock, "dots")
    run_id = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    await start(store, [(run_id, a.fence, wid)], now=clock.now())
    fence = a.fence
    before = await store.events.last_id()
    await append_log(
        store,
        [
            (run_id, fence, "stdout", "."),
            (run_id, fence, "stderr", "!"),
            (run_id, fence, "stdout", "."),
        ],
        limit=100,
        now=clock.now(),
    )
    [att] = await store.runs.attempts(run_id)
    assert (att.stdout, att.stdout_chunks, att.stderr, att.stderr_chunks) == ("..", 2, "!", 1)
    await append_log(store, [(run_id, fence, "stdout", ".")], limit=100, now=clock.now())
    logs = [e.data for e in await store.events.since(before, limit=10) if e.type == "run.log"]
    assert [(d["stream"], d["seq"]) for d in logs] == [
        ("stdout", 0),
        ("stderr", 0),
        ("stdout", 1),
        ("stdout", 2),
    ]
    [att] = await store.runs.attempts(run_id)
    assert att.stdout_chunks == 3
    joined = att.stdout[:2] + "".join(
        d["chunk"] for d in logs if d["stream"] == "stdout" and d["seq"] >= 2
    )
    assert joined == att.stdout == "..."


async def test_reaper_turns_expired_leases_into_lost_attempts(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "lost", retries=2, retry_delay=0)
    run_id = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    await start(store, [(run_id, a.fence, wid)], now=clock.now())
    clock.advance(29)
    assert not (await store.reaper.reap(now=clock.now(), lost_after=1000)).expired
    clock.advance(2)
    result = await store.reaper.reap(now=clock.now(), lost_after=1000)
    assert result.expired == [run_id]
    [att] = await store.runs.attempts(run_id)
    assert att.status == "lost" and "lease expired" in (att.error or "")
    run = await store.runs.get(run_id)
    assert run is not None and run.status == "queued"


async def test_unconfirmed_claims_go_back_to_the_queue(store: SqlStore, clock: FakeClock) -> None:
    job = await add_job(store, clock, "ack")
    run_id = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    clock.advance(11)
    result = await store.reaper.reap(now=clock.now(), lost_after=1000)
    assert result.unacked == [run_id]
    [late] = await start(store, [(run_id, a.fence, wid)], now=clock.now())
    assert not late.ok  # the old claim's start is refused once the run moved on
    [b] = await claim(store, clock, wid)
    assert b.run_id == run_id and b.fence == a.fence + 1
    assert await store.runs.attempts(run_id) == []


async def test_lost_worker_and_start_deadline(store: SqlStore, clock: FakeClock) -> None:
    job = await add_job(store, clock, "dl", start_deadline=60)
    run_id = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    await add_worker(store, clock, "worker-gone")
    clock.advance(100)
    result = await store.reaper.reap(now=clock.now(), lost_after=90)
    assert result.lost_workers == ["worker-gone"]
    assert result.missed == [run_id]
    run = await store.runs.get(run_id)
    assert run is not None and run.status == "missed"


async def test_a_reap_with_nothing_to_do_writes_nothing(
    store: SqlStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every coordinator reaps every second: a pass that finds nothing opens no write
    transaction; one that finds work still does it (the tests above)."""
    job = await add_job(store, clock, "calm", start_deadline=60)
    await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    await add_worker(store, clock)  # online and heard from: not lost
    writes: list[object] = []
    real = store.db.write

    def counting(now: object) -> object:
        writes.append(now)
        return real(now)  # type: ignore[arg-type]

    monkeypatch.setattr(store.db, "write", counting)
    result = await store.reaper.reap(now=clock.now(), lost_after=1000)
    assert not result.changed and writes == []
    clock.advance(61)  # the queued run's deadline has passed: now there is work
    result = await store.reaper.reap(now=clock.now(), lost_after=1000)
    assert len(result.missed) == 1 and writes


async def test_dependents_fire_when_all_upstreams_succeeded(
    store: SqlStore, clock: FakeClock
) -> None:
    a = await add_job(store, clock, "a")
    b = await add_job(store, clock, "b")
    c = await add_job(store, clock, "c", deps=[a, b])
    wid = await add_worker(store, clock)

    async def succeed(job_id: str) -> str:
        rid = (
            await store.runs.trigger(NewRun(job_id=job_id, trigger="manual"), now=clock.now())
        ).run_id
        [asg] = [x for x in await claim(store, clock, wid) if x.run_id == rid]
        clock.advance(1)
        await complete(
            store,
            [Completion(run_id=rid, fence=asg.fence, outcome="completed")],
            worker_id=wid,
            now=clock.now(),
        )
        return rid

    ra = await succeed(a.id)
    _, total, _ = await store.runs.page(RunFilter(job_id=c.id), limit=10, cursor=None)
    assert total.count == 0  # b has not succeeded yet
    rb = await succeed(b.id)
    runs, total, _ = await store.runs.page(RunFilter(job_id=c.id), limit=10, cursor=None)
    assert total.count == 1
    assert runs[0].trigger == "dependency"
    assert set(runs[0].upstream_run_ids) == {ra, rb}


async def test_failed_upstream_fires_nothing(store: SqlStore, clock: FakeClock) -> None:
    a = await add_job(store, clock, "fa", retries=0)
    d = await add_job(store, clock, "fd", deps=[a])
    rid = (await store.runs.trigger(NewRun(job_id=a.id, trigger="manual"), now=clock.now())).run_id
    wid = await add_worker(store, clock)
    [asg] = await claim(store, clock, wid)
    await complete(
        store,
        [Completion(run_id=rid, fence=asg.fence, outcome="failed")],
        worker_id=wid,
        now=clock.now(),
    )
    _, total, _ = await store.runs.page(RunFilter(job_id=d.id), limit=10, cursor=None)
    assert total.count == 0


async def test_deregistration_hands_back_claims_that_never_started(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "handback", on_overlap="queue", concurrency=2)
    first = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    second = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    wid = await add_worker(store, clock)
    claimed = await claim(store, clock, wid)
    started = next(a for a in claimed if a.run_id == first)
    await start(store, [(first, started.fence, wid)], now=clock.now())
    assert await store.workers.deregister(wid, now=clock.now()) == [second]
    back, kept = await store.runs.get(second), await store.runs.get(first)
    assert back is not None and back.status == "queued" and back.worker_id is None
    assert await store.runs.attempts(second) == []  # no attempt was made
    assert kept is not None and kept.status == "running"  # its lease decides its fate


async def test_a_heartbeat_arriving_after_deregistration_does_not_revive_the_worker(
    store: SqlStore, clock: FakeClock
) -> None:
    # a heartbeat sent just before the worker left, answered after its deregistration
    wid = await add_worker(store, clock)
    await store.workers.deregister(wid, now=clock.now())
    with pytest.raises(NotFound):
        await store.workers.heartbeat(wid, runs=[], lease=30, now=clock.now())
    worker = await store.workers.get(wid)
    assert worker is not None and worker.status == "offline"


async def test_at_most_once_a_lost_or_timed_out_attempt_ends_the_run_a_reported_failure_retries(
    store: SqlStore, clock: FakeClock
) -> None:
    """Delivery at most once: a run whose start was taken and whose lease then lapsed is
    never started again (failed, dead-lettered, the reason in its error), nor one that timed
    out; a failure the code reported is retried as the job allows; a claim never started
    goes back to the queue as always (it cannot have run)."""
    job = await add_job(
        store,
        clock,
        "once",
        retries=2,
        retry_delay=0,
        delivery="at_most_once",
        on_overlap="allow",
        concurrency=10,
    )
    made = await store.runs.bulk([NewRun(job_id=job.id, trigger="manual")] * 4, now=clock.now())
    lost, timed, failing, unacked = [run_id for run_id, _ in made]
    wid = await add_worker(store, clock)
    got = {a.run_id: a for a in await claim(store, clock, wid)}
    assert got[lost].delivery == "at_most_once"  # the worker is told to wait for its start
    await start(store, [(r, got[r].fence, wid) for r in (lost, timed, failing)], now=clock.now())
    outcomes = [
        Completion(run_id=timed, fence=got[timed].fence, outcome="timed_out", error="timed out"),
        Completion(run_id=failing, fence=got[failing].fence, outcome="failed", error="boom"),
    ]
    settled = await complete(store, outcomes, worker_id=wid, now=clock.now())
    assert [(r.status, r.ok) for r in settled] == [("failed", True), ("queued", True)]
    clock.advance(31)
    result = await store.reaper.reap(now=clock.now(), lost_after=1000)
    assert result.expired == [lost] and result.unacked == [unacked]
    runs = {r: await store.runs.get(r) for r in (lost, timed, failing, unacked)}
    assert {r: run.status for r, run in runs.items() if run} == {
        lost: "failed",
        timed: "failed",
        failing: "queued",
        unacked: "queued",
    }
    assert (runs[lost].error or "").startswith("lost; not retried: at-most-once")  # type: ignore[union-attr]
    assert runs[timed].error == "timed out; not retried: at-most-once (timed out)"  # type: ignore[union-attr]
    page, _ = await store.dead_letters.page(resolved=False, limit=10, offset=0)
    letters = {d.run_id for d in page}
    assert {lost, timed} <= letters and failing not in letters
