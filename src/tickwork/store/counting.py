"""Totals for paged lists that stay cheap at any size: exact up to ``EXACT_UP_TO`` matches,
above that the PostgreSQL planner's estimate for the same filter (SQLite counts exactly: it is
the embedded database of small installations)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.queries import Total

EXACT_UP_TO = 10_000
"""Matches counted one by one before the count becomes an estimate."""


async def count_matching(
    conn: AsyncConnection, table: sa.FromClause, where: list[sa.ColumnElement[bool]]
) -> Total:
    matching = sa.select(sa.literal(1)).select_from(table).where(*where)
    if conn.dialect.name != "postgresql":
        exact = sa.select(sa.func.count()).select_from(matching.subquery())
        return Total(int((await conn.execute(exact)).scalar_one()))
    capped = sa.select(sa.func.count()).select_from(matching.limit(EXACT_UP_TO + 1).subquery())
    counted = int((await conn.execute(capped)).scalar_one())
    if counted <= EXACT_UP_TO:
        return Total(counted)
    return Total(max(await _planned_rows(conn, matching), EXACT_UP_TO + 1), exact=False)


async def _planned_rows(conn: AsyncConnection, stmt: sa.Select[Any]) -> int:
    """The rows the planner expects ``stmt`` to return (its parameters bound, not inlined)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    plan = (
        await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string, compiled.params)
    ).scalar_one()
    if isinstance(plan, str):  # a driver that does not decode json
        import json

        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
