"""Namespaces in the store, on SQLite and PostgreSQL: runs keep their job's namespace, lists
and a limited worker's claim filter on it, and migration 0008 puts existing data in default."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from tickwork.domain.clock import FakeClock
from tickwork.domain.jobs import Job
from tickwork.domain.namespaces import NamespaceFilter
from tickwork.domain.queries import JobFilter, NewRun, RunFilter
from tickwork.domain.runs import Completion
from tickwork.domain.scheduling import TickPlan
from tickwork.store import migrate
from tickwork.store import tables as t
from tickwork.store.claims_pg import PICK
from tickwork.store.jobs_sql import namespace_where
from tickwork.store.sql import SqlStore
from tickwork.testing import job_spec

from .helpers import add_job, add_worker, claim, complete

PAYMENTS = NamespaceFilter(only=frozenset({"payments"}))


async def add_in(store: SqlStore, clock: FakeClock, job_id: str, name: str, ns: str) -> Job:
    """A job with its own id, named ``name`` in namespace ``ns``."""
    now = clock.now()
    job = Job(id=job_id, spec=job_spec(name, namespace=ns), created_at=now, updated_at=now)
    await store.jobs.insert(job, deps={}, now=now)
    return job


async def test_runs_keep_their_jobs_namespace(store: SqlStore, clock: FakeClock) -> None:
    pay = await add_job(store, clock, "pay", namespace="payments", on_overlap="allow")
    other = await add_job(store, clock, "other", on_overlap="allow")
    await store.runs.trigger(NewRun(job_id=pay.id, trigger="manual"), now=clock.now())
    await store.runs.bulk(
        [NewRun(job_id=j.id, trigger="manual") for j in (pay, other, pay)], now=clock.now()
    )
    runs, total, _ = await store.runs.page(RunFilter(namespaces=PAYMENTS), limit=10, cursor=None)
    assert total.count == 3 and {r.namespace for r in runs} == {"payments"}
    assert {r.job_id for r in runs} == {pay.id}
    everything, _, _ = await store.runs.page(RunFilter(), limit=10, cursor=None)
    assert sorted(r.namespace for r in everything) == [
        "default",
        "payments",
        "payments",
        "payments",
    ]
    jobs, _, _ = await store.jobs.page(JobFilter(namespaces=PAYMENTS), limit=10, cursor=None)
    assert [j.id for j in jobs] == [pay.id]


async def test_scheduled_and_dependency_runs_keep_the_namespace(
    store: SqlStore, clock: FakeClock
) -> None:
    up = await add_job(store, clock, "up", namespace="payments", schedule="every 1m")
    down = await add_job(store, clock, "down", namespace="payments", deps=[up])
    clock.advance(seconds=61)

    def plan(job: Job, calendar: object = None) -> tuple[TickPlan, datetime | None]:
        return TickPlan(fire=[clock.now()]), clock.now() + timedelta(minutes=1)

    await store.schedule.fire(now=clock.now(), limit=10, planner=plan)
    await add_worker(store, clock)
    [got] = await claim(store, clock)
    await complete(
        store,
        [Completion(run_id=got.run_id, fence=got.fence, outcome="completed")],
        worker_id="worker-a",
        now=clock.now(),
    )
    runs, _, _ = await store.runs.page(RunFilter(namespaces=PAYMENTS), limit=10, cursor=None)
    assert sorted((r.trigger, r.job_id, r.namespace) for r in runs) == [
        ("dependency", down.id, "payments"),
        ("schedule", up.id, "payments"),
    ]


async def test_the_same_name_in_two_namespaces(store: SqlStore, clock: FakeClock) -> None:
    a = await add_job(store, clock, "etl")
    b = await add_in(store, clock, "job-etl2", "etl", "data")
    assert (await store.jobs.get("etl")).id == a.id  # type: ignore[union-attr]
    assert (await store.jobs.get("etl", namespace="data")).id == b.id  # type: ignore[union-attr]
    assert await store.jobs.get("etl", namespace="nowhere") is None
    assert await store.jobs.resolve(["etl", "data/etl"]) == {
        "etl": (a.id, "etl"),
        "data/etl": (b.id, "data/etl"),
    }
    assert await store.jobs.namespace_counts(NamespaceFilter()) == {"data": 1, "default": 1}


async def test_a_worker_limited_to_a_namespace_claims_only_its_runs(
    store: SqlStore, clock: FakeClock
) -> None:
    pay = await add_job(
        store, clock, "pay", namespace="payments", on_overlap="allow", concurrency=9
    )
    other = await add_job(store, clock, "other", on_overlap="allow", concurrency=9)
    await store.runs.bulk(
        [NewRun(job_id=j.id, trigger="manual") for j in (other, pay, other, pay)], now=clock.now()
    )
    await add_worker(store, clock, "w-pay")
    await add_worker(store, clock, "w-any")
    got = await store.claims.claim(
        worker_id="w-pay",
        routes=["default"],
        limit=10,
        lease=30,
        ack_timeout=10,
        now=clock.now(),
        namespaces=["payments"],
    )
    assert [a.job_id for a in got] == [pay.id, pay.id]
    none_left = await store.claims.claim(
        worker_id="w-pay",
        routes=["default"],
        limit=10,
        lease=30,
        ack_timeout=10,
        now=clock.now(),
        namespaces=["payments"],
    )
    assert none_left == []
    rest = await claim(store, clock, "w-any")
    assert [a.job_id for a in rest] == [other.id, other.id]


async def test_the_limited_claim_reads_its_own_index(store: SqlStore, clock: FakeClock) -> None:
    """The claim of a limited worker is one indexed predicate more: on PostgreSQL the plan
    of its pick reads ``ix_runs_claimable_namespace`` (SQLite's planner is not asked)."""
    if store.dialect != "postgresql":
        return
    pay = await add_job(store, clock, "pay", namespace="payments", on_overlap="allow")
    other = await add_job(store, clock, "other", on_overlap="allow")
    await store.runs.bulk(
        [NewRun(job_id=pay.id, trigger="manual")] * 10
        + [NewRun(job_id=other.id, trigger="manual")] * 500,
        now=clock.now(),
    )
    params = {"route": "default", "namespace": "payments", "now": clock.now(), "limit": 40}
    async with store.writer.connect() as conn:
        await conn.execute(sa.text("ANALYZE runs"))
        pick = PICK[("one", "one")]
        plan = (await conn.exec_driver_sql("EXPLAIN " + pick, params)).scalars()
        text = "\n".join(plan)
    assert "ix_runs_claimable_namespace" in text, text


async def test_a_namespace_list_reads_its_own_index(store: SqlStore, clock: FakeClock) -> None:
    """The run list of a namespace other than default reads ``ix_runs_namespace_queued_at``
    (partial: default's runs never enter it), its values bound as the list binds them."""
    if store.dialect != "postgresql":
        return
    pay = await add_job(store, clock, "pay", namespace="payments", on_overlap="allow")
    other = await add_job(store, clock, "other", on_overlap="allow")
    await store.runs.bulk(
        [NewRun(job_id=j.id, trigger="manual") for j in (pay, other) * 50], now=clock.now()
    )
    stmt = (
        sa.select(t.runs.c.id)
        .where(*namespace_where(t.runs.c.namespace, PAYMENTS))
        .order_by(t.runs.c.queued_at.desc(), t.runs.c.id.desc())
        .limit(50)
    )
    compiled = stmt.compile(
        dialect=store.writer.dialect, compile_kwargs={"render_postcompile": True}
    )
    async with store.writer.connect() as conn:
        await conn.execute(sa.text("ANALYZE runs"))
        await conn.execute(sa.text("SET enable_seqscan = off"))
        plan = (await conn.exec_driver_sql("EXPLAIN " + compiled.string, compiled.params)).scalars()
        text = "\n".join(plan)
    assert "ix_runs_namespace_queued_at" in text, text


async def test_migration_0008_puts_existing_data_in_default(db_url: str, clock: FakeClock) -> None:
    store = SqlStore(db_url)
    try:
        await migrate.upgrade(store.writer)
        await migrate.downgrade(store.writer, "0007")
        now = clock.now()
        async with store.writer.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO jobs (id, name, type, spec, route, enabled, priority, "
                    "concurrency, running_count, created_at, updated_at) VALUES "
                    "('job-old', 'old', 'shell', :spec, 'default', true, 50, 1, 0, :now, :now)"
                ),
                {"spec": '{"name": "old", "type": "shell", "command": "true"}', "now": now},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO runs (id, job_id, trigger, idempotency_key, parameters, "
                    "status, route, priority, attempt, max_attempts, timeout, "
                    "bypass_concurrency, fence, cancel_requested, queued_at, "
                    "upstream_run_ids) VALUES ('run-old', 'job-old', 'manual', 'k', '{}', "
                    "'queued', 'default', 50, 0, 1, 60, false, 0, false, :now, '[]')"
                ),
                {"now": now},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO api_tokens (id, name, role, hash, created_at) "
                    "VALUES ('tok-old', 'old', 'operator', 'h', :now)"
                ),
                {"now": now},
            )
        await migrate.upgrade(store.writer)
        job = await store.jobs.get("old")
        run = await store.runs.get("run-old")
        token = await store.tokens.by_digest("h")
        assert job is not None and job.spec.namespace == "default"
        assert run is not None and run.namespace == "default"
        assert token is not None and token.scopes is None and token.role == "operator"
        await add_in(store, clock, "job-old2", "old", "elsewhere")
        await migrate.downgrade(store.writer, "0007")
        async with store.writer.connect() as conn:
            names = (await conn.execute(sa.text("SELECT name FROM jobs ORDER BY id"))).scalars()
            assert list(names) == ["old", "elsewhere.old"]
        await migrate.upgrade(store.writer)
    finally:
        await store.close()
