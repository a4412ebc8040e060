"""The event outbox's reads: catch-up from an id, history newest first, pruning.

A stored row holds one event or a batch of one job's events (see ``database.Outbox``); an
event's id is its row's id * BATCH + its place in the row, so ids still only grow and a
client resumes after the last one it saw. Filters on job, run and type go into the SQL where
a column can answer them and are finished here on the events themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from tickwork.domain.runs import Event
from tickwork.store import tables as t
from tickwork.store.database import BATCH, Database

E = t.events.c

SCAN_ROWS = 5000
"""Rows a filtered history read looks through at most before it answers what it found."""


def expand(row: Any) -> Iterator[Event]:
    """The events a stored row holds, with their ids."""
    base = row.id * BATCH
    if row.count == 1:
        yield Event(
            id=base,
            type=row.type,
            job_id=row.job_id,
            run_id=row.run_id,
            data=row.data,
            created_at=row.created_at,
        )
        return
    for i, item in enumerate(row.data):
        yield Event(
            id=base + i,
            type=item["type"],
            job_id=row.job_id,
            run_id=item["run_id"],
            data=item["data"],
            created_at=row.created_at,
        )


def _matches(e: Event, job_id: str | None, run_id: str | None, types: Sequence[str]) -> bool:
    return (
        (job_id is None or e.job_id == job_id)
        and (run_id is None or e.run_id == run_id)
        and (not types or e.type in types)
    )


def _where(job_id: str | None, run_id: str | None, types: Sequence[str]) -> list[Any]:
    """What the columns can say about a row that may hold a matching event."""
    where: list[Any] = []
    if job_id:
        where.append(E.job_id == job_id)
    if run_id:
        where.append(sa.or_(E.run_id == run_id, sa.and_(E.count > 1, E.run_id.is_(None))))
    if types:
        where.append(sa.or_(E.type.in_(types), E.type == "batch"))
    return where


class EventRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def since(
        self,
        after: int,
        *,
        limit: int = 1000,
        job_id: str | None = None,
        run_id: str | None = None,
    ) -> list[Event]:
        """Events after id ``after``, oldest first (at most ``limit``)."""
        stmt = (
            sa.select(t.events)
            .where(E.id >= after // BATCH, *_where(job_id, run_id, ()))
            .order_by(E.id)
            .limit(limit)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        out = [
            e
            for row in rows
            for e in expand(row)
            if e.id > after and _matches(e, job_id, run_id, ())
        ]
        return out[:limit]

    async def batches_since(self, after_row: int, *, limit: int) -> list[tuple[int, list[Event]]]:
        """Stored rows after row id ``after_row``, each with its events (whoever follows the
        outbox in order, like the relay, follows rows: ids are handed out per row)."""
        stmt = sa.select(t.events).where(E.id > after_row).order_by(E.id).limit(limit)
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [(row.id, list(expand(row))) for row in rows]

    async def last_row(self) -> int:
        async with self.db.read() as conn:
            value = (await conn.execute(sa.select(sa.func.max(E.id)))).scalar()
        return int(value or 0)

    async def history(
        self,
        *,
        limit: int,
        before: int | None = None,
        job_id: str | None = None,
        run_id: str | None = None,
        types: list[str] | None = None,
    ) -> list[Event]:
        """Stored events, newest first (kept for the retention period)."""
        wanted = tuple(types or ())
        out: list[Event] = []
        # the row holding ``before`` may hold older events; after it, only rows below
        below = None if before is None else E.id <= before // BATCH
        scanned = 0
        while len(out) < limit and scanned < SCAN_ROWS:
            stmt = sa.select(t.events).where(*_where(job_id, run_id, wanted))
            if below is not None:
                stmt = stmt.where(below)
            rows = await self._read(stmt.order_by(E.id.desc()).limit(limit))
            if not rows:
                break
            scanned += len(rows)
            for row in rows:
                out += [
                    e
                    for e in reversed(list(expand(row)))
                    if (before is None or e.id < before) and _matches(e, job_id, run_id, wanted)
                ]
            below = E.id < rows[-1].id
        return out[:limit]

    async def _read(self, stmt: sa.Select[Any]) -> list[Any]:
        async with self.db.read() as conn:
            return list((await conn.execute(stmt)).all())

    async def last_id(self) -> int:
        async with self.db.read() as conn:
            row = (
                await conn.execute(sa.select(E.id, E.count).order_by(E.id.desc()).limit(1))
            ).first()
        return 0 if row is None else row.id * BATCH + row.count - 1
