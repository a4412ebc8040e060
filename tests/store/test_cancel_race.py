"""Cancelling a queued run that a worker claims at the same moment (PostgreSQL)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from tickwork.domain.clock import FakeClock
from tickwork.domain.queries import NewRun
from tickwork.store.sql import SqlStore

from .helpers import add_job


async def wait_until_blocked_on_a_lock(dsn: str, within: float = 10) -> None:
    """Until another session of this database waits on a row lock."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        for _ in range(int(within / 0.02)):
            cur = await conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = await cur.fetchone()
            if row and row[0]:
                return
            await asyncio.sleep(0.02)
    raise AssertionError("the cancel never waited for the claim's row lock")


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_cancel_waits_for_a_concurrent_claim_and_asks_the_worker(
    store: SqlStore, clock: FakeClock, db_url: str
) -> None:
    job = await add_job(store, clock, "contested")
    run_id = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    dsn = db_url
    async with await psycopg.AsyncConnection.connect(dsn) as claimer:
        await claimer.execute(  # a claim, still uncommitted, holding the run's row lock
            "UPDATE runs SET status = 'running', worker_id = 'worker-x', fence = fence + 1 "
            "WHERE id = %s",
            (run_id,),
        )
        cancel = asyncio.create_task(store.runs.cancel(run_id, now=clock.now()))
        await wait_until_blocked_on_a_lock(dsn)
        await claimer.commit()
        status, worker = await cancel
    assert (status, worker) == ("running", "worker-x")  # the claim won; its worker is asked
    run = await store.runs.get(run_id)
    assert run is not None and (run.status, run.cancel_requested) == ("running", True)
    types = [e.type for e in await store.events.since(0, limit=50, run_id=run_id)]
    assert "run.cancelled" not in types and "run.cancelling" in types
