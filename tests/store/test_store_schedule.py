"""The scheduler's transaction: bounded idle time on PostgreSQL (a partitioned leader)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tickwork.store import tables as t
from tickwork.store.dialect import limit_idle_transaction
from tickwork.store.schedule_sql import ENABLED, due_jobs
from tickwork.store.sql import SqlStore

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


async def test_a_transaction_left_idle_past_its_limit_is_ended_by_the_database(
    store: SqlStore,
) -> None:
    """What a leader cut off mid-pass looks like to the server: nothing more arrives."""
    with pytest.raises(sa.exc.DBAPIError, match="idle-in-transaction timeout"):
        async with store.writer.begin() as conn:
            await limit_idle_transaction(conn, 0.2)
            await conn.execute(sa.select(sa.literal(1)))
            await asyncio.sleep(1.0)  # the client goes quiet for longer than the limit
            await conn.execute(sa.select(sa.literal(2)))


async def test_the_limit_ends_with_its_transaction(store: SqlStore) -> None:
    """SET LOCAL: a pooled connection's next transaction has no such limit."""
    async with store.writer.connect() as conn:
        async with conn.begin():
            await limit_idle_transaction(conn, 0.2)
        async with conn.begin():
            await conn.execute(sa.select(sa.literal(1)))
            await asyncio.sleep(0.6)
            assert (await conn.execute(sa.select(sa.literal(2)))).scalar_one() == 2


async def test_due_jobs_are_found_through_the_due_index_among_many(store: SqlStore) -> None:
    """The scheduler asks for due jobs on every pass: PostgreSQL must answer from the partial
    index ix_jobs_due, not read every job (``enabled IS true`` did not match its predicate,
    and each pass read all the jobs: 86 ms at a million)."""
    now = datetime(2026, 6, 1, tzinfo=UTC)
    async with store.db.write(now) as (conn, _events):
        await conn.execute(
            sa.text(
                "INSERT INTO jobs (id, name, type, spec, route, enabled, priority, "
                "concurrency, running_count, next_run, created_at, updated_at) "
                "SELECT 'job-' || i, 'many-' || i, 'shell', '{}'::jsonb, 'default', "
                "i % 10 <> 0, 50, 1, 0, :now + make_interval(secs => i), :now, :now "
                "FROM generate_series(1, 20000) AS i"
            ),
            {"now": now},
        )
        await conn.execute(sa.text("ANALYZE jobs"))
    for stmt in (
        due_jobs(now, 1000),
        sa.select(sa.func.min(t.jobs.c.next_run)).where(ENABLED),
    ):
        compiled = stmt.compile(dialect=store.writer.dialect)
        async with store.db.read() as conn:
            plan = "\n".join(
                row[0]
                for row in await conn.exec_driver_sql("EXPLAIN " + compiled.string, compiled.params)
            )
        assert "ix_jobs_due" in plan and "Seq Scan" not in plan, plan
