"""Apply Alembic migrations programmatically (the server does this at start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _migrate(engine, lambda sync: command.upgrade(alembic_config(sync), revision))


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await _migrate(engine, lambda sync: command.downgrade(alembic_config(sync), revision))


async def _migrate(engine: AsyncEngine, step: Any) -> None:
    """Run ``step`` in one transaction. On SQLite, foreign keys are off meanwhile: a change
    SQLite cannot make in place rebuilds the table (copy, drop, rename), and dropping a
    table that others reference ON DELETE CASCADE would delete their rows (every run of
    every job); they are checked before the transaction commits."""
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # outside a transaction, or SQLite ignores it
            await _pragma(conn, "PRAGMA foreign_keys=OFF")
        try:
            async with conn.begin():
                await conn.run_sync(step)
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                await _pragma(conn, "PRAGMA foreign_keys=ON")


async def _pragma(conn: AsyncConnection, sql: str) -> None:
    def run(sync: Any) -> None:
        cur = sync.connection.cursor()
        cur.execute(sql)
        cur.close()

    await conn.run_sync(run)
