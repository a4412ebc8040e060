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
from tickwork.domain.totals import FINISHED_EVENTS, Totals
from tickwork.store import tables as t
from tickwork.store.database import BATCH, Database
from tickwork.store.tables import UTCDateTime

E = t.events.c

FINISHED_TYPES = sorted(FINISHED_EVENTS)

FINISH_SUMS = sa.text("""
SELECT e.job_id, date_trunc('hour', e.created_at, 'UTC') AS hour, x.type, count(*) AS runs,
  sum((x.data->>'duration')::float8)
    FILTER (WHERE jsonb_typeof(x.data->'duration') = 'number') AS seconds,
  count(*) FILTER (WHERE jsonb_typeof(x.data->'duration') = 'number') AS timed
FROM events e
CROSS JOIN LATERAL (
  SELECT e.type AS type, e.data AS data WHERE e.count = 1
  UNION ALL
  SELECT item->>'type', item->'data'
  FROM jsonb_array_elements(CASE WHEN e.count > 1 THEN e.data ELSE '[]'::jsonb END) item
) x
WHERE e.id > :after AND e.id <= :upto AND e.job_id IS NOT NULL
  AND (e.type = ANY(:types) OR e.type = 'batch') AND x.type = ANY(:types)
GROUP BY e.job_id, hour, x.type
""").columns(hour=UTCDateTime())
"""The finishes of a stretch of the outbox summed per job, hour and status, in the database
(an events row holds one event, or a JSON list of one job's events: see database.Outbox)."""

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

    async def rows_since(self, after_row: int, *, limit: int) -> list[tuple[int, str | None, str]]:
        """Stored rows after row id ``after_row`` as (row id, job id, type), without their
        events (a row of several types says ``batch``): for followers that need only to
        know which jobs' runs changed, or how far the outbox goes."""
        stmt = sa.select(E.id, E.job_id, E.type).where(E.id > after_row).order_by(E.id)
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt.limit(limit))).all()
        return [(r.id, r.job_id, r.type) for r in rows]

    async def finish_totals(self, after_row: int, upto_row: int) -> Totals:
        """What the runs that finished in rows (``after_row``, ``upto_row``] add to the run
        totals (domain/totals.py). PostgreSQL sums them from the rows' JSON itself, so a
        pass reads a few sums rather than every event; SQLite folds the events here."""
        totals = Totals()
        if upto_row <= after_row:
            return totals
        in_range = (E.id > after_row, E.id <= upto_row, E.job_id.is_not(None))
        async with self.db.read() as conn:
            if self.db.is_postgres:
                found = await conn.execute(
                    FINISH_SUMS, {"after": after_row, "upto": upto_row, "types": FINISHED_TYPES}
                )
                for r in found.all():
                    totals.add_counted(
                        job_id=r.job_id,
                        hour=r.hour,
                        status=FINISHED_EVENTS[r.type],
                        runs=r.runs,
                        seconds=r.seconds or 0.0,
                        timed=r.timed,
                    )
                return totals
            stmt = sa.select(t.events).where(*in_range, E.type.in_([*FINISHED_TYPES, "batch"]))
            rows = (await conn.execute(stmt.order_by(E.id))).all()
        return totals.add(e for row in rows for e in expand(row))

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
