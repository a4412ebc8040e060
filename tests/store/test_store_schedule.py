"""The scheduler's transaction: bounded idle time on PostgreSQL (a partitioned leader)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from tickwork.store.dialect import limit_idle_transaction
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
