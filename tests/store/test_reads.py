"""Reads on PostgreSQL run in autocommit: one round trip a statement, no transaction held."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from tickwork.store.sql import SqlStore


async def _state_of(store: SqlStore, pid: int) -> str:
    async with store.db.write(datetime.now(UTC)) as (conn, _):
        state = (
            await conn.execute(
                sa.text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
        ).scalar_one()
    return str(state)


async def test_a_read_holds_no_transaction_between_its_statements(pg_database: str) -> None:
    """A read that waits between statements (a long poll, a slow client) must not sit
    'idle in transaction': that holds back vacuum and, behind PgBouncer, a server connection."""
    store = SqlStore(pg_database)
    try:
        async with store.db.read() as conn:
            pid = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            assert await _state_of(store, pid) == "idle"
            assert (
                await conn.execute(sa.text("SELECT txid_current_if_assigned()"))
            ).scalar() is None
        async with store.db.write(datetime.now(UTC)) as (conn, _):
            await conn.execute(sa.text("SELECT 1"))
            assert await conn.get_isolation_level() == "READ COMMITTED"  # writes keep theirs
    finally:
        await store.close()
