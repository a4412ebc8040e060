"""Server-side prepared statements can be switched off (PgBouncer in transaction mode)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tickwork.config import Settings
from tickwork.store.sql import SqlStore


async def prepared_after_repeats(store: SqlStore) -> int:
    """Run one statement ten times on one connection; how many statements it has prepared."""
    async with store.reader.connect() as conn:
        for i in range(10):
            await conn.execute(sa.text("SELECT :n + 1"), {"n": i})
        count = (
            await conn.execute(sa.text("SELECT count(*) FROM pg_prepared_statements"))
        ).scalar()
    return int(count or 0)


@pytest.mark.parametrize("prepared", [True, False])
async def test_prepared_statements_follow_the_setting(pg_database: str, prepared: bool) -> None:
    store = SqlStore(pg_database, prepared_statements=prepared)
    try:
        assert (await prepared_after_repeats(store) > 0) is prepared
    finally:
        await store.close()


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().database_prepared_statements is True
    monkeypatch.setenv("TICKWORK_DATABASE_PREPARED_STATEMENTS", "false")
    assert Settings().database_prepared_statements is False
