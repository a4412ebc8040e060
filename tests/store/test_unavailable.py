"""The store's one translation of "the database cannot answer now" into ``Unavailable``."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.integration.harness import free_port
from tickwork.domain.errors import Unavailable
from tickwork.store.sql import SqlStore


@pytest.fixture
def unreachable_url(db_url: str, tmp_path: Path) -> str:
    """The same backend as ``db_url``, at a place nothing answers."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'missing-dir' / 'tickwork.db'}"
    return f"postgresql://postgres@127.0.0.1:{free_port()}/tickwork"


async def test_the_store_says_unavailable_when_the_database_does_not_answer(
    unreachable_url: str,
) -> None:
    store = SqlStore(unreachable_url)
    try:
        with pytest.raises(Unavailable) as caught:
            await store.ping()
        assert caught.value.status == 503 and caught.value.retry_after >= 1
        with pytest.raises(Unavailable):
            await store.worker_get("w-1")
    finally:
        await store.close()


async def test_a_bad_statement_is_not_mistaken_for_an_outage(store: SqlStore) -> None:
    """SQLite reports a missing table as an OperationalError too: it is a defect, not a 503."""
    with pytest.raises(Exception) as caught:
        async with store._read() as conn:
            await conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert not isinstance(caught.value, Unavailable)
