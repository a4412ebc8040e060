"""The psycopg connection under a SQLAlchemy one, for the hot path's raw pipelines."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection


async def driver(conn: AsyncConnection) -> Any:
    """The psycopg ``AsyncConnection`` under ``conn``, in the same transaction: statements
    sent on it and through ``conn`` see and hold the same locks."""
    return (await conn.get_raw_connection()).driver_connection
