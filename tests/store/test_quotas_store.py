"""Quotas and rate limits in the store, on both backends: creates and triggers refused over a
namespace's quotas (nothing written), claims within its running quota and within job and tag
rate windows (runs wait in order, none dropped), on both claim paths."""

from __future__ import annotations

import pytest

from tickwork.domain.clock import FakeClock
from tickwork.domain.jobs import Job
from tickwork.domain.queries import NewRun, TriggerRequest
from tickwork.domain.quotas import QuotaExceeded, Quotas, RateLimit
from tickwork.domain.runs import Completion
from tickwork.store.sql import SqlStore

from .helpers import add_job, add_worker, claim, complete, log, start


async def queue(store: SqlStore, clock: FakeClock, job: Job, n: int) -> list[str]:
    made = await store.runs.bulk(
        [NewRun(job_id=job.id, trigger="manual") for _ in range(n)], now=clock.now()
    )
    return [run_id for run_id, _ in made]


async def finish(store: SqlStore, clock: FakeClock, got: list[object]) -> None:
    items = [Completion(a.run_id, a.fence, "completed") for a in got]  # type: ignore[attr-defined]
    await complete(store, items, worker_id="worker-a", now=clock.now())


async def test_a_job_over_max_jobs_is_refused(store: SqlStore, clock: FakeClock) -> None:
    await store.quotas.set("payments", Quotas(max_jobs=2), now=clock.now())
    await add_job(store, clock, "a", namespace="payments")
    await add_job(store, clock, "b", namespace="payments")
    with pytest.raises(QuotaExceeded) as over:
        await add_job(store, clock, "c", namespace="payments")
    assert over.value.details == {
        "namespace": "payments",
        "quota": "max_jobs",
        "limit": 2,
        "used": 2,
        "requested": 1,
    }
    assert await store.jobs.get("c", namespace="payments") is None
    await add_job(store, clock, "elsewhere")  # default has no quota


async def test_triggers_over_max_queued_are_refused_one_by_one(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "q", namespace="payments", on_overlap="allow")
    await store.quotas.set("payments", Quotas(max_queued=3), now=clock.now())
    requests = [TriggerRequest(ref=job.id, namespace="payments") for _ in range(5)]
    answers = await store.runs.trigger_many(requests, now=clock.now())
    made = [a for a in answers if not isinstance(a, QuotaExceeded)]
    refused = [a for a in answers if isinstance(a, QuotaExceeded)]
    assert len(made) == 3 and len(refused) == 2
    assert refused[0].details["quota"] == "max_queued"
    with pytest.raises(QuotaExceeded):
        await store.runs.bulk([NewRun(job_id=job.id, trigger="manual")], now=clock.now())
    quotas = await store.quotas.get(["payments"])
    usage = (await store.quotas.usage(["payments"], quotas, now=clock.now()))["payments"]
    assert usage.queued == 3


async def test_runs_per_hour_counts_the_last_hour(store: SqlStore, clock: FakeClock) -> None:
    job = await add_job(store, clock, "h", namespace="payments", on_overlap="allow")
    await store.quotas.set("payments", Quotas(runs_per_hour=2), now=clock.now())
    await queue(store, clock, job, 2)
    with pytest.raises(QuotaExceeded) as over:
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    assert over.value.details["quota"] == "runs_per_hour"
    clock.advance(3601)
    assert len(await queue(store, clock, job, 2)) == 2


async def test_runs_over_the_running_quota_wait_and_start_later(
    store: SqlStore, clock: FakeClock
) -> None:
    """On both claim paths (allow jobs would bypass everything without the quota)."""
    wide = await add_job(store, clock, "wide", namespace="payments", on_overlap="allow")
    other = await add_job(store, clock, "other", on_overlap="allow")
    await store.quotas.set("payments", Quotas(max_running=2), now=clock.now())
    ids = sorted(await queue(store, clock, wide, 5))  # queued together: started by id
    await queue(store, clock, other, 2)
    await add_worker(store, clock, concurrency=20)
    got = await claim(store, clock, limit=20)
    assert sorted(a.job_name for a in got) == ["other", "other", "wide", "wide"]
    assert [a.run_id for a in got if a.job_name == "wide"] == ids[:2]  # in their order
    assert await claim(store, clock, limit=20) == []
    await finish(store, clock, [a for a in got if a.job_name == "wide"][:1])
    again = await claim(store, clock, limit=20)
    assert [a.run_id for a in again] == ids[2:3]


async def test_a_job_rate_limit_holds_across_windows(store: SqlStore, clock: FakeClock) -> None:
    job = await add_job(
        store, clock, "rl", on_overlap="allow", rate_limit=RateLimit(max=3, per="1m")
    )
    ids = sorted(await queue(store, clock, job, 7))
    await add_worker(store, clock, concurrency=20)
    started: list[str] = []
    for _ in range(3):
        got = await claim(store, clock, limit=20)
        assert len(got) == 3
        started += [a.run_id for a in got]
        await finish(store, clock, got)
        assert await claim(store, clock, limit=20) == []  # the window is full
        clock.advance(59)
        assert await claim(store, clock, limit=20) == []
        clock.advance(1.5)
        if len(started) == 6:
            break
    last = await claim(store, clock, limit=20)
    assert started + [a.run_id for a in last] == ids  # in order, none lost


async def test_a_tag_rate_limit_spans_the_namespaces_jobs(
    store: SqlStore, clock: FakeClock
) -> None:
    a = await add_job(store, clock, "ta", namespace="mail", tags=("smtp",), on_overlap="allow")
    b = await add_job(store, clock, "tb", namespace="mail", tags=("smtp",), on_overlap="queue")
    c = await add_job(store, clock, "tc", tags=("smtp",), on_overlap="allow")  # default
    limits = {"smtp": RateLimit(max=2, per="10s")}
    await store.quotas.set("mail", Quotas(tag_rate_limits=limits), now=clock.now())
    await queue(store, clock, a, 2)
    await queue(store, clock, b, 2)
    await queue(store, clock, c, 3)
    await add_worker(store, clock, concurrency=20)
    got = await claim(store, clock, limit=20)
    names = sorted(x.job_name for x in got)
    assert names.count("tc") == 3 and len([n for n in names if n != "tc"]) == 2
    quotas = (await store.quotas.get(["mail"]))["mail"]
    assert quotas.tag_rate_limits == limits
    clock.advance(11)
    assert len(await claim(store, clock, limit=20)) == 1  # b's concurrency of 1 holds too


async def test_output_over_its_quota_is_cleared_oldest_first(
    store: SqlStore, clock: FakeClock
) -> None:
    job = await add_job(store, clock, "chatty", namespace="logs", on_overlap="allow")
    other = await add_job(store, clock, "quiet", on_overlap="allow")
    await store.quotas.set("logs", Quotas(max_output_bytes=10), now=clock.now())
    await add_worker(store, clock, concurrency=20)
    for j in (job, job, other):
        await queue(store, clock, j, 1)
        [a] = await claim(store, clock)
        await start(store, [(a.run_id, a.fence, "worker-a")], now=clock.now())
        await log(store, [(a.run_id, a.fence, "stdout", "12345678")], limit=1000, now=clock.now())
        await finish(store, clock, [a])
        clock.advance(1)
    quotas = await store.quotas.get(["logs"])
    assert (await store.quotas.usage(["logs"], quotas, now=clock.now()))["logs"].output_bytes == 16
    assert await store.quotas.output_over(now=clock.now(), limit=100) == 1
    assert (await store.quotas.usage(["logs"], quotas, now=clock.now()))["logs"].output_bytes == 8
    assert await store.quotas.output_over(now=clock.now(), limit=100) == 0
