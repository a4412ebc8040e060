"""Business calendars: create, replace (recomputing their jobs' next_run), delete, look up."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.calendars import Calendar, CalendarSpec, HolidaySet
from tickwork.domain.errors import Conflict, NotFound
from tickwork.domain.jobs import Job
from tickwork.domain.namespaces import NamespaceFilter
from tickwork.domain.pipelines import Pipeline
from tickwork.store import tables as t
from tickwork.store.database import Database
from tickwork.store.dialect import update_many
from tickwork.store.jobs_sql import namespace_where
from tickwork.store.locking import for_update, no_key_update
from tickwork.store.pipelines_sql import pipeline_from
from tickwork.store.rows import job_from_row
from tickwork.store.run_writes import withdraw_ahead

C = t.calendars.c
J = t.jobs.c

# a job's next fire time under a calendar's new definition: pure domain code, from the service
Recompute = Callable[[Job, CalendarSpec], datetime | None]
PipelineRecompute = Callable[[Pipeline, CalendarSpec], datetime | None]


def calendar_values(spec: CalendarSpec) -> dict[str, Any]:
    return {
        "namespace": spec.namespace,
        "name": spec.name,
        "weekdays": list(spec.weekdays),
        "country": spec.holidays.country if spec.holidays else None,
        "subdivision": spec.holidays.subdivision if spec.holidays else None,
        "exclude_dates": [d.isoformat() for d in spec.exclude_dates],
        "include_dates": [d.isoformat() for d in spec.include_dates],
        "description": spec.description,
    }


def calendar_spec_from_row(row: Any) -> CalendarSpec:
    return CalendarSpec(
        name=row.name,
        namespace=row.namespace,
        weekdays=tuple(row.weekdays),
        holidays=HolidaySet(row.country, row.subdivision) if row.country else None,
        exclude_dates=tuple(date.fromisoformat(d) for d in row.exclude_dates),
        include_dates=tuple(date.fromisoformat(d) for d in row.include_dates),
        description=row.description,
    )


def calendar_from_row(row: Any) -> Calendar:
    return Calendar(calendar_spec_from_row(row), row.created_at, row.updated_at)


async def calendars_of(
    conn: AsyncConnection, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], CalendarSpec]:
    """The calendars named by these (namespace, name) pairs, in the caller's transaction
    (the scheduler reads those of its due jobs)."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    rows = (
        await conn.execute(sa.select(t.calendars).where(sa.tuple_(C.namespace, C.name).in_(wanted)))
    ).all()
    return {(r.namespace, r.name): calendar_spec_from_row(r) for r in rows}


class CalendarRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, spec: CalendarSpec, *, now: datetime) -> None:
        values = calendar_values(spec) | {"created_at": now, "updated_at": now}
        try:
            async with self.db.write(now) as (conn, _events):
                await conn.execute(sa.insert(t.calendars).values(**values))
        except IntegrityError as exc:
            raise Conflict(
                f"a calendar named '{spec.name}' already exists in namespace '{spec.namespace}'",
                details={"field": "name"},
            ) from exc

    async def get(self, name: str, *, namespace: str) -> Calendar | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(t.calendars).where(C.namespace == namespace, C.name == name)
                )
            ).first()
        return calendar_from_row(row) if row else None

    async def page(self, namespaces: NamespaceFilter) -> list[Calendar]:
        """The calendars of the namespaces the filter allows, by namespace and name."""
        stmt = (
            sa.select(t.calendars)
            .where(*namespace_where(C.namespace, namespaces))
            .order_by(C.namespace, C.name)
        )
        async with self.db.read() as conn:
            return [calendar_from_row(r) for r in (await conn.execute(stmt)).all()]

    async def users(self, name: str, *, namespace: str) -> list[str]:
        """The names of the jobs that name this calendar."""
        async with self.db.read() as conn:
            return await _users(conn, namespace, name)

    async def replace(
        self,
        spec: CalendarSpec,
        *,
        recompute: Recompute,
        now: datetime,
        recompute_pipeline: PipelineRecompute | None = None,
    ) -> dict[str, datetime | None]:
        """Store the calendar's new definition and, in the same transaction, the next_run
        ``recompute`` gives each enabled job that names it; those, by job id. An error from
        ``recompute`` (a job left with no fire time) rolls everything back."""
        async with self.db.write(now) as (conn, events):
            res = await conn.execute(
                sa.update(t.calendars)
                .where(C.namespace == spec.namespace, C.name == spec.name)
                .values(**calendar_values(spec), updated_at=now)
            )
            if res.rowcount == 0:
                raise NotFound(f"no calendar '{spec.name}' in namespace '{spec.namespace}'")
            pipes = {}  # pipelines before jobs (the lock order)
            if recompute_pipeline is not None:
                pipes = await self._move_pipelines(conn, spec, recompute_pipeline)
            using = sa.select(t.jobs).where(
                J.namespace == spec.namespace, J.calendar == spec.name, J.enabled
            )
            rows = (await conn.execute(no_key_update(using.order_by(J.id), self.db.dialect))).all()
            moved = {row.id: recompute(job_from_row(row), spec) for row in rows}
            # runs written ahead under the old calendar are withdrawn: planned anew
            await withdraw_ahead(
                conn, self.db.dialect, events, sorted(moved), now, reason="calendar changed"
            )
            if moved:
                await update_many(
                    conn,
                    t.jobs,
                    keys=["id"],
                    values=["next_run"],
                    rows=[{"id": i, "next_run": n} for i, n in moved.items()],
                    dialect_name=self.db.dialect,
                )
            for job_id, nxt in moved.items():
                events.add(
                    "job.updated",
                    job_id=job_id,
                    data={
                        "calendar": spec.name,
                        "next_run": nxt.isoformat() if nxt else None,
                    },
                )
            moved.update(pipes)
        return moved

    async def _move_pipelines(
        self, conn: AsyncConnection, spec: CalendarSpec, recompute: PipelineRecompute
    ) -> dict[str, datetime | None]:
        """The next_run of the enabled pipelines that name the calendar, recomputed (the
        pipelines locked: a tick of theirs waits)."""
        pl = t.pipelines.c
        using = sa.select(t.pipelines).where(
            pl.namespace == spec.namespace, pl.calendar == spec.name, pl.enabled
        )
        rows = (await conn.execute(no_key_update(using.order_by(pl.id), self.db.dialect))).all()
        moved = {row.id: recompute(pipeline_from(row, {}), spec) for row in rows}
        for pipeline_id, nxt in moved.items():
            await conn.execute(
                sa.update(t.pipelines).where(pl.id == pipeline_id).values(next_run=nxt)
            )
        return moved

    async def delete(self, name: str, *, namespace: str, now: datetime) -> None:
        """Delete a calendar no job names (409 naming the jobs that do)."""
        here = (C.namespace == namespace, C.name == name)
        async with self.db.write(now) as (conn, _events):
            # the row first: a job being saved with this calendar holds FOR KEY SHARE on it
            # (jobs_sql.check_calendar), so that job is either seen below or waits, then
            # finds no calendar
            locked = sa.select(C.name).where(*here)
            if (await conn.execute(for_update(locked, self.db.dialect))).first() is None:
                raise NotFound(f"no calendar '{name}' in namespace '{namespace}'")
            users = await _users(conn, namespace, name)
            pipelines = await _pipelines(conn, namespace, name)
            if users or pipelines:
                named = [f"job(s) {', '.join(users)}"] if users else []
                named += [f"pipeline(s) {', '.join(pipelines)}"] if pipelines else []
                details: dict[str, list[str]] = {"jobs": users}
                if pipelines:
                    details["pipelines"] = pipelines
                raise Conflict(
                    f"calendar '{name}' is used by {' and '.join(named)}; change or delete "
                    "them first",
                    details=details,
                )
            await conn.execute(sa.delete(t.calendars).where(*here))


async def _pipelines(conn: AsyncConnection, namespace: str, name: str) -> list[str]:
    pl = t.pipelines.c
    stmt = sa.select(pl.name).where(pl.namespace == namespace, pl.calendar == name)
    return list((await conn.execute(stmt.order_by(pl.name))).scalars())


async def _users(conn: AsyncConnection, namespace: str, name: str) -> list[str]:
    stmt = sa.select(J.name).where(J.namespace == namespace, J.calendar == name).order_by(J.name)
    return list((await conn.execute(stmt)).scalars())
