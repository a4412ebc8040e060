"""A coordinator says so when PostgreSQL runs without autovacuum: then nothing analyses or
vacuums tickwork's tables, and plans made while they were small stay in use."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container
from tickwork.store.sql import SqlStore


async def test_the_store_reads_the_servers_autovacuum_setting(store: SqlStore) -> None:
    if not store.db.is_postgres:
        assert await store.autovacuum_off() is False  # SQLite needs neither
        return
    async with store.db.read() as conn:
        setting = (await conn.execute(sa.text("SHOW autovacuum"))).scalar_one()
    assert await store.autovacuum_off() is (setting == "off")


@pytest.mark.parametrize(("off", "background"), [(True, True), (False, True), (True, False)])
async def test_a_coordinator_warns_at_start_when_autovacuum_is_off(
    db_url: str,
    clock: FakeClock,
    off: bool,
    background: bool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server says so once at start; a CLI command (no background services) does not."""

    async def setting(_self: SqlStore) -> bool:
        return off

    monkeypatch.setattr(SqlStore, "autovacuum_off", setting)
    c = Container(Settings(database_url=db_url), clock=clock)
    with caplog.at_level(logging.WARNING, logger="tickwork.service.container"):
        await c.start(background=background)
    await c.stop()
    warned = [r.getMessage() for r in caplog.records if "autovacuum is off" in r.getMessage()]
    assert len(warned) == (1 if off and background else 0)
    if warned:
        assert "VACUUM ANALYZE" in warned[0]
