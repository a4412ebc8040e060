"""The database every part of the SQL store shares: engines, transactions, the event outbox.

Each store class (jobs, runs, claims, reports, …) holds a ``Database`` and nothing else: they
are siblings, composed by ``SqlStore``, and write through ``write()`` (one transaction, with
an outbox for the events it produces) or read through ``read()``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.clock import SystemClock
from tickwork.domain.errors import Unavailable
from tickwork.store import tables as t
from tickwork.store.dialect import create_engines, insert_all, is_unavailable

log = logging.getLogger(__name__)

BATCH = 1000
"""Most events one events row holds; an event's id is its row's id * BATCH + its index."""


class Outbox:
    """Events written in the same transaction as the change they describe.

    They are stored one row per job the transaction touched (and one for job-less events),
    not one per event: a report that finishes fifty runs of a job writes one row. A row that
    holds one event keeps it as before (type, job, run, data); a row that holds several has
    ``count`` > 1, ``type`` set only if they share it, ``run_id`` only if they share it, and
    the events as a JSON list in ``data``.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.pending: list[tuple[str, str | None, str | None, dict[str, Any]]] = []

    def add(
        self,
        type_: str,
        *,
        job_id: str | None = None,
        run_id: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        self.pending.append((type_, job_id, run_id, dict(data or {})))

    def rows(self) -> list[dict[str, Any]]:
        by_job: dict[str | None, list[tuple[str, str | None, str | None, dict[str, Any]]]] = {}
        for event in self.pending:
            by_job.setdefault(event[1], []).append(event)
        return [
            _row(job_id, events[start : start + BATCH], self.now)
            for job_id, events in by_job.items()
            for start in range(0, len(events), BATCH)
        ]

    async def flush(self, conn: AsyncConnection) -> None:
        if self.pending:
            await insert_all(conn, t.events, self.rows(), dialect_name=conn.dialect.name)
            self.pending = []


def _row(
    job_id: str | None,
    events: list[tuple[str, str | None, str | None, dict[str, Any]]],
    now: datetime,
) -> dict[str, Any]:
    if len(events) == 1:
        type_, _, run_id, data = events[0]
        return {
            "type": type_,
            "job_id": job_id,
            "run_id": run_id,
            "count": 1,
            "data": data,
            "created_at": now,
        }
    types = {e[0] for e in events}
    runs = {e[2] for e in events}
    return {
        "type": types.pop() if len(types) == 1 else "batch",
        "job_id": job_id,
        "run_id": runs.pop() if len(runs) == 1 else None,
        "count": len(events),
        "data": [{"type": e[0], "run_id": e[2], "data": e[3]} for e in events],
        "created_at": now,
    }


class Database:
    """Owns the engines; ``write`` and ``read`` are the only ways in."""

    def __init__(self, url: str, *, prepared_statements: bool = True) -> None:
        self.url = url
        self.reader, self.writer = create_engines(url, prepared_statements=prepared_statements)
        self.dialect = self.writer.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def write(self, now: datetime) -> AsyncIterator[tuple[AsyncConnection, Outbox]]:
        """One write transaction; its events are inserted just before it commits."""
        events = Outbox(now)
        with _unavailable_raised():
            async with self.writer.begin() as conn:
                yield conn, events
                await events.flush(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        with _unavailable_raised():
            async with self.reader.connect() as conn:
                yield conn

    async def close(self) -> None:
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()

    async def now(self) -> datetime:
        """The database's clock (PostgreSQL), used to correct coordinator clock skew."""
        if self.is_postgres:
            async with self.read() as conn:
                stmt = sa.text("SELECT clock_timestamp()")
                return (await conn.execute(stmt)).scalar_one()  # type: ignore[no-any-return]
        return SystemClock().now()

    async def autovacuum_off(self) -> bool:
        """Whether PostgreSQL runs without autovacuum: then nothing vacuums or analyses the
        tables (dead rows pile up in the run path's indexes, and plans made while the tables
        were small are never made again). False on SQLite, which needs neither."""
        if not self.is_postgres:
            return False
        async with self.read() as conn:
            setting = (await conn.execute(sa.text("SHOW autovacuum"))).scalar_one()
        return str(setting).lower() in ("off", "false", "0")

    async def ping(self) -> bool:
        async with self.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return True


@contextmanager
def _unavailable_raised() -> Iterator[None]:
    """The one place a driver's "cannot answer now" becomes the domain's ``Unavailable``
    (503 with Retry-After at the API); the driver's words stay in the server log."""
    try:
        yield
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        log.warning("database unavailable: %s", lines[0] if lines else type(exc).__name__)
        raise Unavailable("the database is unavailable; try again shortly") from exc


JOB_NAME = sa.case((t.jobs.c.one_off, t.jobs.c.spec["name"].as_string()), else_=t.jobs.c.name)
"""A job's name as runs and dead letters show it: a one-off run's hidden job is named by the
run's id, and its spec holds the caller's label (else that id too)."""

RUN_COLUMNS = [*t.runs.c, JOB_NAME.label("job_name"), t.jobs.c.one_off]


def run_select() -> sa.Select[Any]:
    """Runs with their job's name (a one-off run's: its label, else its id) and whether the
    run is a one-off."""
    return sa.select(*RUN_COLUMNS).select_from(t.runs.join(t.jobs, t.runs.c.job_id == t.jobs.c.id))
