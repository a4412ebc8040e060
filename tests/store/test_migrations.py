"""Migrations: empty → head matches the tables; downgrade → upgrade round-trips."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tickwork.store import migrate
from tickwork.store.sql import SqlStore
from tickwork.store.tables import PG_ONLY, metadata


def _diff(sync_conn: Any) -> list[Any]:
    def same_dialect(obj: Any, name: Any, kind: str, reflected: bool, other: Any) -> bool:
        """Indexes made on PostgreSQL only (``ddl_if``) are not expected on SQLite."""
        return not (kind == "index" and sync_conn.dialect.name != "postgresql" and name in PG_ONLY)

    ctx = MigrationContext.configure(
        sync_conn, opts={"compare_type": True, "include_object": same_dialect}
    )
    return list(compare_metadata(ctx, metadata))


async def test_head_matches_metadata_and_round_trips(db_url: str) -> None:
    store = SqlStore(db_url)
    try:
        await migrate.upgrade(store.writer)
        async with store.writer.connect() as conn:
            assert await conn.run_sync(_diff) == []
        await migrate.downgrade(store.writer)
        async with store.writer.connect() as conn:
            tables = await conn.run_sync(
                lambda c: c.dialect.get_table_names(c)  # type: ignore[no-any-return]
            )
        assert set(tables) <= {"alembic_version"}
        await migrate.upgrade(store.writer)
        async with store.writer.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await store.close()
