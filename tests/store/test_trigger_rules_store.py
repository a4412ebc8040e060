"""Trigger rules in the store: every path that ends a run fires the dependents whose
conditions hold (domain/trigger_rules.py), with the upstream runs on the fired run."""

from __future__ import annotations

from tickwork.domain.clock import FakeClock
from tickwork.domain.jobs import Job
from tickwork.domain.queries import NewRun, RunFilter, RunSelection
from tickwork.domain.runs import Completion, Run
from tickwork.store.sql import SqlStore

from .helpers import add_job, add_worker, claim, complete, start


async def runs_of(store: SqlStore, job: Job) -> list[Run]:
    runs, _, _ = await store.runs.page(RunFilter(job_id=job.id), limit=50, cursor=None)
    return runs


async def trigger(store: SqlStore, clock: FakeClock, job: Job) -> str:
    made = await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    return made.run_id


async def finish(
    store: SqlStore,
    clock: FakeClock,
    job: Job,
    outcome: str,
    error: str | None = None,
    wid: str = "worker-a",
) -> str:
    """Trigger a run of ``job``, claim it and report ``outcome`` (one attempt)."""
    rid = await trigger(store, clock, job)
    [asg] = [a for a in await claim(store, clock, wid) if a.run_id == rid]
    clock.advance(1)
    done = Completion(run_id=rid, fence=asg.fence, outcome=outcome, error=error)
    await complete(store, [done], worker_id=wid, now=clock.now())
    clock.advance(1)
    return rid


async def test_a_failure_fires_an_on_failure_dependent_with_the_upstream_error(
    store: SqlStore, clock: FakeClock
) -> None:
    up = await add_job(store, clock, "extract", retries=0)
    cleanup = await add_job(store, clock, "cleanup", deps=[up], on={"extract": "failure"})
    report = await add_job(store, clock, "report", deps=[up])
    wid = await add_worker(store, clock)
    rid = await finish(
        store, clock, up, "failed", error="Traceback …\nValueError: bad row", wid=wid
    )
    [fired] = await runs_of(store, cleanup)
    assert fired.trigger == "dependency" and fired.upstream_run_ids == (rid,)
    assert [dict(u) for u in fired.upstream] == [
        {
            "run_id": rid,
            "job": "extract",
            "status": "failed",
            "error": "Traceback …\nValueError: bad row",
            "error_summary": "ValueError: bad row",
        }
    ]
    assert await runs_of(store, report) == []  # on success: a failure fires nothing
    # the worker that claims the fired run gets the upstream runs with it
    [asg] = [a for a in await claim(store, clock, wid) if a.run_id == fired.id]
    assert [u["run_id"] for u in asg.upstream] == [rid]
    # a later success fires the on-success edge only
    ok = await finish(store, clock, up, "completed", wid=wid)
    [after] = await runs_of(store, report)
    assert after.upstream_run_ids == (ok,) and after.upstream[0]["status"] == "completed"
    assert len(await runs_of(store, cleanup)) == 1


async def test_any_fires_on_one_edge_all_waits_for_every_one(
    store: SqlStore, clock: FakeClock
) -> None:
    a = await add_job(store, clock, "a", retries=0)
    b = await add_job(store, clock, "b", retries=0)
    either = await add_job(
        store,
        clock,
        "either",
        deps=[a, b],
        on={"b": "failure"},
        trigger_rule="any",
        on_overlap="queue",  # its first run is still queued when b fails
    )
    both = await add_job(store, clock, "both", deps=[a, b], on={"b": "failure"})
    wid = await add_worker(store, clock)
    ra = await finish(store, clock, a, "completed", wid=wid)
    [one] = await runs_of(store, either)
    assert one.upstream_run_ids == (ra,)
    assert await runs_of(store, both) == []  # b has not failed yet
    rb = await finish(store, clock, b, "failed", error="boom", wid=wid)
    [fired] = await runs_of(store, both)
    assert set(fired.upstream_run_ids) == {ra, rb}
    assert {u["status"] for u in fired.upstream} == {"completed", "failed"}
    # `either` fires again for b's failure (after its own run, a's success is used up)
    runs = await runs_of(store, either)
    assert len(runs) == 2 and runs[0].upstream_run_ids == (rb,)


async def test_an_attempt_that_will_be_retried_fires_nothing(
    store: SqlStore, clock: FakeClock
) -> None:
    up = await add_job(store, clock, "flaky", retries=1, retry_delay=0)
    on_fail = await add_job(store, clock, "on-fail", deps=[up], on={"flaky": "failure"})
    on_done = await add_job(store, clock, "on-done", deps=[up], on={"flaky": "done"})
    wid = await add_worker(store, clock)
    rid = await finish(store, clock, up, "failed", error="first", wid=wid)
    run = await store.runs.get(rid)
    assert run is not None and run.status == "queued"  # retried: not an end
    assert await runs_of(store, on_fail) == [] and await runs_of(store, on_done) == []
    [asg] = [a for a in await claim(store, clock, wid) if a.run_id == rid]
    done = Completion(run_id=rid, fence=asg.fence, outcome="failed", error="second")
    await complete(store, [done], worker_id=wid, now=clock.now())
    [fired] = await runs_of(store, on_fail)
    assert fired.upstream[0]["error"] == "second"
    assert len(await runs_of(store, on_done)) == 1


async def test_a_lost_lease_with_no_retry_left_fires_on_failure(
    store: SqlStore, clock: FakeClock
) -> None:
    up = await add_job(store, clock, "lost", retries=0)
    alert = await add_job(store, clock, "alert", deps=[up], on={"lost": "failure"})
    wid = await add_worker(store, clock)
    rid = await trigger(store, clock, up)
    [asg] = await claim(store, clock, wid)
    await start(store, [(rid, asg.fence, wid)], now=clock.now())
    clock.advance(60)  # past the 30 s lease
    reaped = await store.reaper.reap(now=clock.now(), lost_after=3600)
    assert rid in reaped.expired
    [fired] = await runs_of(store, alert)
    assert fired.upstream_run_ids == (rid,)
    assert fired.upstream[0]["status"] == "failed"
    assert "lease expired" in fired.upstream[0]["error"]


async def test_a_missed_run_fires_on_failure(store: SqlStore, clock: FakeClock) -> None:
    up = await add_job(store, clock, "late", start_deadline=10)
    page = await add_job(store, clock, "page", deps=[up], on={"late": "failure"})
    rid = await trigger(store, clock, up)
    clock.advance(30)
    reaped = await store.reaper.reap(now=clock.now(), lost_after=3600)
    assert rid in reaped.missed
    [fired] = await runs_of(store, page)
    assert fired.upstream[0]["status"] == "missed"


async def test_a_cancel_fires_on_done_only(store: SqlStore, clock: FakeClock) -> None:
    up = await add_job(store, clock, "up", on_overlap="queue", concurrency=5)
    ok = await add_job(store, clock, "ok", deps=[up])
    bad = await add_job(store, clock, "bad", deps=[up], on={"up": "failure"})
    done = await add_job(store, clock, "done", deps=[up], on={"up": "done"}, on_overlap="queue")
    rid = await trigger(store, clock, up)
    assert await store.runs.cancel(rid, by="ops", now=clock.now()) == ("cancelled", None)
    assert await runs_of(store, ok) == [] and await runs_of(store, bad) == []
    [fired] = await runs_of(store, done)
    assert fired.upstream[0] == {
        "run_id": rid,
        "job": "up",
        "status": "cancelled",
        "error": "cancelled by request",
        "error_summary": None,
    }
    # a bulk cancel ends runs the same way
    clock.advance(5)
    again = await trigger(store, clock, up)
    result = await store.bulk.runs_cancel(RunSelection(ids=(again,)), by="ops", now=clock.now())
    assert result.count == 1
    runs = await runs_of(store, done)
    assert len(runs) == 2 and runs[0].upstream_run_ids == (again,)
    assert await runs_of(store, ok) == [] and await runs_of(store, bad) == []


async def test_a_running_run_cancelled_ends_when_its_worker_reports(
    store: SqlStore, clock: FakeClock
) -> None:
    up = await add_job(store, clock, "long")
    done = await add_job(store, clock, "after-long", deps=[up], on={"long": "done"})
    wid = await add_worker(store, clock)
    rid = await trigger(store, clock, up)
    [asg] = await claim(store, clock, wid)
    await start(store, [(rid, asg.fence, wid)], now=clock.now())
    assert (await store.runs.cancel(rid, now=clock.now()))[0] == "running"
    assert await runs_of(store, done) == []  # asked to stop, not ended yet
    clock.advance(2)
    stopped = Completion(run_id=rid, fence=asg.fence, outcome="cancelled", error="cancelled")
    await complete(store, [stopped], worker_id=wid, now=clock.now())
    [fired] = await runs_of(store, done)
    assert fired.upstream[0]["status"] == "cancelled"


async def test_a_disabled_dependent_is_not_fired(store: SqlStore, clock: FakeClock) -> None:
    up = await add_job(store, clock, "src", retries=0)
    off = await add_job(store, clock, "off", deps=[up], on={"src": "done"}, enabled=False)
    wid = await add_worker(store, clock)
    await finish(store, clock, up, "failed", wid=wid)
    assert await runs_of(store, off) == []


async def test_a_completion_fires_a_done_dependent_and_not_a_failure_one(
    store: SqlStore, clock: FakeClock
) -> None:
    # on PostgreSQL a report that only completes runs takes a short path unless the runs'
    # jobs have dependents of any kind: these must still be fired (or not) by their rules
    up = await add_job(store, clock, "quick")
    only_failure = await add_job(store, clock, "quick-fail", deps=[up], on={"quick": "failure"})
    wid = await add_worker(store, clock)
    await finish(store, clock, up, "completed", wid=wid)
    assert await runs_of(store, only_failure) == []
    done = await add_job(store, clock, "quick-done", deps=[up], on={"quick": "done"})
    rid = await finish(store, clock, up, "completed", wid=wid)
    [fired] = await runs_of(store, done)
    assert fired.upstream_run_ids == (rid,) and fired.upstream[0]["status"] == "completed"


async def test_a_superseded_run_fires_nothing_the_run_that_replaced_it_does(
    store: SqlStore, clock: FakeClock
) -> None:
    up = await add_job(store, clock, "latest-only", on_overlap="cancel_previous")
    other = await add_job(store, clock, "other")
    done = await add_job(store, clock, "after-latest", deps=[up], on={"latest-only": "done"})
    both = await add_job(store, clock, "after-both", deps=[up, other], on={"latest-only": "done"})
    wid = await add_worker(store, clock)
    first = await trigger(store, clock, up)
    [asg] = await claim(store, clock, wid)
    await start(store, [(first, asg.fence, wid)], now=clock.now())
    second = await trigger(store, clock, up)  # asks the first to stop
    clock.advance(1)
    stopped = Completion(run_id=first, fence=asg.fence, outcome="cancelled", error="cancelled")
    await complete(store, [stopped], worker_id=wid, now=clock.now())
    run = await store.runs.get(first)
    assert run is not None and (run.status, run.cancelled_by) == ("cancelled", "cancel_previous")
    assert await runs_of(store, done) == []
    [asg2] = [a for a in await claim(store, clock, wid) if a.run_id == second]
    # nor does it count as an end for another job's rule: `both` still waits for it
    other_run = await finish(store, clock, other, "completed", wid=wid)
    assert await runs_of(store, both) == []
    clock.advance(1)
    ended = Completion(run_id=second, fence=asg2.fence, outcome="completed")
    await complete(store, [ended], worker_id=wid, now=clock.now())
    [fired] = await runs_of(store, done)
    assert fired.upstream_run_ids == (second,)
    [together] = await runs_of(store, both)
    assert set(together.upstream_run_ids) == {second, other_run}
