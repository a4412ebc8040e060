"""Bulk actions, error summaries and who cancelled: the same assertions on SQLite and
PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from tickwork.domain.clock import FakeClock
from tickwork.domain.jobs import Job
from tickwork.domain.queries import DeadLetterSelection, NewRun, RunFilter, RunSelection
from tickwork.domain.runs import Completion, Event
from tickwork.store import tables as t
from tickwork.store.sql import SqlStore

from .helpers import add_job, add_worker, claim, complete, start
from .helpers import log as append_log


async def queue(store: SqlStore, clock: FakeClock, job: Job, n: int) -> list[str]:
    made = await store.runs.bulk(
        [NewRun(job_id=job.id, trigger="manual") for _ in range(n)], now=clock.now()
    )
    return [run_id for run_id, _ in made]


async def fail(
    store: SqlStore, clock: FakeClock, job: Job, *, stderr: str = "", n: int = 1
) -> list[str]:
    """Queue ``n`` runs of ``job`` and fail each (exit code 3, ``stderr`` printed)."""
    ids = await queue(store, clock, job, n)
    wid = await add_worker(store, clock, f"w-{ids[0]}")
    assignments = await claim(store, clock, wid, limit=n)
    assert sorted(a.run_id for a in assignments) == sorted(ids)
    await start(store, [(a.run_id, a.fence, wid) for a in assignments], now=clock.now())
    if stderr:
        chunks = [(a.run_id, a.fence, "stderr", stderr) for a in assignments]
        await append_log(store, chunks, limit=10_000, now=clock.now())
    done = [
        Completion(
            run_id=a.run_id, fence=a.fence, outcome="failed", exit_code=3, error="exit code 3"
        )
        for a in assignments
    ]
    await complete(store, done, worker_id=wid, now=clock.now())
    return ids


async def events_of(store: SqlStore, run_id: str) -> list[Event]:
    return await store.events.since(0, run_id=run_id)


async def test_bulk_cancel_by_ids_cancels_queued_and_asks_running_ones_to_stop(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "bc", on_overlap="queue", concurrency=1)
    made = await queue(store, clock, job, 2)
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    running = a.run_id
    [queued] = [x for x in made if x != running]
    done = await store.bulk.runs_cancel(
        RunSelection(ids=(running, queued, "run-unknown")), by="alice", now=clock.now()
    )
    assert done.count == 2 and sorted(done.ids) == sorted([running, queued])
    assert done.stopping == [(running, wid)]
    q, r = await store.runs.get(queued), await store.runs.get(running)
    assert q is not None and (q.status, q.cancelled_by) == ("cancelled", "alice")
    assert r is not None and (r.status, r.cancel_requested, r.cancelled_by) == (
        "running",
        True,
        "alice",
    )
    assert (await store.workers.cancels(wid)) == [running]  # the heartbeat tells it too
    assert [e.type for e in await events_of(store, queued)][-1] == "run.cancelled"
    assert [e.type for e in await events_of(store, running)][-1] == "run.cancelling"
    await start(store, [(running, a.fence, wid)], now=clock.now())
    stopped = Completion(run_id=running, fence=a.fence, outcome="cancelled", error="cancelled")
    await complete(store, [stopped], worker_id=wid, now=clock.now())
    r = await store.runs.get(running)
    assert r is not None and (r.status, r.cancelled_by) == ("cancelled", "alice")


async def test_bulk_cancel_by_filter_touches_only_what_matches(
    store: SqlStore, clock: FakeClock
) -> None:
    a = await add_job(store, clock, "fa", on_overlap="queue", concurrency=1)
    b = await add_job(store, clock, "fb", on_overlap="queue", concurrency=1)
    a_runs = await queue(store, clock, a, 3)
    b_runs = await queue(store, clock, b, 2)
    wid = await add_worker(store, clock)
    claimed = {x.run_id for x in await claim(store, clock, wid)}
    assert len(claimed) == 2  # one of each job (concurrency 1)
    by_job = await store.bulk.runs_cancel(
        RunSelection(job_id=a.id, statuses=("queued",)), by="bob", now=clock.now()
    )
    assert by_job.count == 2 and by_job.stopping == []
    for run_id in a_runs:
        run = await store.runs.get(run_id)
        assert run is not None
        assert run.status == ("running" if run_id in claimed else "cancelled")
    everywhere = await store.bulk.runs_cancel(
        RunSelection(statuses=("queued",)), by="bob", now=clock.now()
    )
    assert everywhere.count == 1  # b's queued one; the running ones are left alone
    statuses = {x: (await store.runs.get(x)).status for x in b_runs}  # type: ignore[union-attr]
    assert sorted(statuses.values()) == ["cancelled", "running"]


async def test_a_failed_attempt_keeps_the_summary_of_its_stderr_everywhere(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "sum", retries=0)
    [run_id] = await fail(store, clock, job, stderr="working\nERROR: partner API returned 503\n")
    run = await store.runs.get(run_id)
    assert run is not None and run.status == "failed"
    assert run.error == "exit code 3"
    assert run.error_summary == "ERROR: partner API returned 503"
    [attempt] = await store.runs.attempts(run_id)
    assert attempt.error_summary == "ERROR: partner API returned 503"
    letters, _ = await store.dead_letters.page(resolved=False, limit=10, offset=0)
    assert [d.error_summary for d in letters] == ["ERROR: partner API returned 503"]
    failed = [e for e in await events_of(store, run_id) if e.type == "run.failed"]
    assert failed[0].data["error_summary"] == "ERROR: partner API returned 503"


async def test_a_shell_failure_without_stderr_says_its_exit_code(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "quiet", retries=0)
    [run_id] = await fail(store, clock, job)
    run = await store.runs.get(run_id)
    assert run is not None and run.error_summary == "exit code 3"


async def test_bulk_retry_queues_failed_runs_only_and_resolves_their_dead_letters(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "rt", retries=0, on_overlap="queue", concurrency=5)
    failed = await fail(store, clock, job, stderr="boom\n", n=2)
    [queued] = await queue(store, clock, job, 1)
    done = await store.bulk.runs_retry(RunSelection(ids=(*failed, queued)), now=clock.now())
    assert done.count == 2 and sorted(done.ids) == sorted(failed)
    for run_id in failed:
        run = await store.runs.get(run_id)
        assert run is not None
        assert (run.status, run.error, run.error_summary, run.max_attempts) == (
            "queued",
            None,
            None,
            2,
        )
        assert [e.type for e in await events_of(store, run_id)][-1] == "run.queued"
    letters, _ = await store.dead_letters.page(resolved=True, limit=10, offset=0)
    assert {d.resolution for d in letters} == {"retried"}
    again = await store.bulk.runs_retry(RunSelection(job_id=job.id), now=clock.now())
    assert again.count == 0  # none failed any more


async def test_dead_letters_are_grouped_then_replayed_and_resolved_by_filter(
    store: SqlStore, clock: FakeClock
) -> None:
    flaky = await add_job(store, clock, "flaky", retries=0, on_overlap="queue", concurrency=9)
    other = await add_job(store, clock, "other", retries=0, on_overlap="queue", concurrency=9)
    await fail(store, clock, flaky, stderr="ERROR: 503\n", n=3)
    await fail(store, clock, flaky, stderr="ERROR: disk full\n", n=1)
    await fail(store, clock, other, stderr="ERROR: 503\n", n=2)
    groups = await store.dead_letters.groups(limit=100)
    assert [(g.job_name, g.error_summary, g.count) for g in groups] == [
        ("flaky", "ERROR: 503", 3),
        ("other", "ERROR: 503", 2),
        ("flaky", "ERROR: disk full", 1),
    ]
    assert all(g.latest_at == clock.now() for g in groups)
    replayed = await store.bulk.dead_letters_replay(
        DeadLetterSelection(job_id=flaky.id, error_summary="ERROR: 503"),
        note="partner is back",
        now=clock.now(),
    )
    assert replayed.count == 3
    resolved = await store.bulk.dead_letters_resolve(
        DeadLetterSelection(error_summary="ERROR: 503"), note="known outage", now=clock.now()
    )
    assert resolved.count == 2
    left = await store.dead_letters.groups(limit=100)
    assert [(g.job_name, g.error_summary, g.count) for g in left] == [
        ("flaky", "ERROR: disk full", 1)
    ]
    handled, _ = await store.dead_letters.page(resolved=True, limit=10, offset=0)
    assert sorted((d.resolution, d.note) for d in handled) == [
        *[("replayed", "partner is back")] * 3,
        *[("resolved", "known outage")] * 2,
    ]
    for d in handled:
        run = await store.runs.get(d.run_id)
        assert run is not None
        assert run.status == ("queued" if d.resolution == "replayed" else "failed")


async def test_bulk_dead_letters_by_ids_skip_handled_ones(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "dli", retries=0, on_overlap="queue", concurrency=9)
    await fail(store, clock, job, n=2)
    letters, _ = await store.dead_letters.page(resolved=False, limit=10, offset=0)
    ids = tuple(d.id for d in letters)
    await store.dead_letters.resolve(ids[0], now=clock.now())
    done = await store.bulk.dead_letters_resolve(
        DeadLetterSelection(ids=ids), note=None, now=clock.now()
    )
    assert done.ids == [ids[1]]


async def test_single_cancel_and_cancel_previous_say_who_cancelled(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "who", on_overlap="cancel_previous")
    old = await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    new = await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    superseded = await store.runs.get(old.run_id)
    assert superseded is not None and superseded.cancelled_by == "cancel_previous"
    assert await store.runs.cancel(new.run_id, by="carol", now=clock.now()) == ("cancelled", None)
    cancelled = await store.runs.get(new.run_id)
    assert cancelled is not None and cancelled.cancelled_by == "carol"
    async with store.db.read() as conn:
        found = await conn.execute(sa.select(t.runs.c.cancelled_by).order_by(t.runs.c.id))
        assert sorted(found.scalars()) == ["cancel_previous", "carol"]


async def _all_pages(store: SqlStore, flt: RunFilter) -> list[str]:
    out: list[str] = []
    cursor = None
    while True:
        runs, total, cursor = await store.runs.page(flt, limit=2, cursor=cursor)
        out += [r.id for r in runs]
        if cursor is None:
            assert total.count == len(out)
            return out


async def test_runs_sort_by_duration_and_start_page_by_page_with_unstarted_last(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "sorted", on_overlap="queue", concurrency=9)
    ids = await queue(store, clock, job, 4)
    wid = await add_worker(store, clock)
    held = {a.run_id: a for a in await claim(store, clock, wid, limit=4)}
    clock.advance(1)
    [unstarted] = await queue(store, clock, job, 1)
    started = {}
    for run_id in ids:  # started one second apart, in this order
        clock.advance(1)
        await start(store, [(run_id, held[run_id].fence, wid)], now=clock.now())
        started[run_id] = clock.now()
    for run_id in [ids[2], ids[0], ids[3], ids[1]]:  # each finishes 10 s after the last
        clock.advance(10)
        done = Completion(run_id=run_id, fence=held[run_id].fence, outcome="completed")
        await complete(store, [done], worker_id=wid, now=clock.now())
    runs = {r: await store.runs.get(r) for r in ids}
    by_duration = sorted(ids, key=lambda r: runs[r].duration)  # type: ignore[union-attr]
    assert by_duration == [ids[2], ids[0], ids[3], ids[1]]
    asc = await _all_pages(store, RunFilter(sort="duration", descending=False))
    assert asc == [*by_duration, unstarted]
    desc = await _all_pages(store, RunFilter(sort="duration"))
    assert desc == [*reversed(by_duration), unstarted]
    assert await _all_pages(store, RunFilter(sort="started_at", descending=False)) == [
        *ids,
        unstarted,
    ]
    assert await _all_pages(store, RunFilter(sort="started_at")) == [*reversed(ids), unstarted]
    newest_first = await _all_pages(store, RunFilter())
    assert sorted(newest_first) == sorted([*ids, unstarted]) and newest_first[0] == unstarted
