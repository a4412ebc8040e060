"""Jobs: create, replace, delete, look up, list, and the dependency graph."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.errors import Conflict, NotFound
from tickwork.domain.jobs import Job
from tickwork.domain.queries import JobFilter, Total
from tickwork.store import tables as t
from tickwork.store.counting import count_matching
from tickwork.store.database import Database
from tickwork.store.dialect import one_of
from tickwork.store.locking import lock_jobs, lock_runs
from tickwork.store.rows import job_from_row, spec_to_json


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("\x1f".join(parts).encode()).decode()


def decode_cursor(cursor: str, n: int) -> list[str]:
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("\x1f")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("cursor is not one this server issued") from exc
    if len(parts) != n:
        raise ValueError("cursor is not one this server issued")
    return parts


def _job_values(job: Job) -> dict[str, Any]:
    spec = job.spec
    schedule = spec.parsed_schedule()
    return {
        "id": job.id,
        "name": spec.name,
        "type": spec.type,
        "spec": spec_to_json(spec),
        "schedule_type": schedule.kind if schedule else None,
        "route": spec.route,
        "enabled": spec.enabled,
        "priority": spec.priority,
        "concurrency": spec.concurrency,
        "retention_days": spec.retention_days,
        "retention_runs": spec.retention_runs,
        "next_run": job.next_run,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


class JobRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, job: Job, *, dep_ids: list[str], now: datetime) -> None:
        try:
            async with self.db.write(now) as (conn, events):
                await conn.execute(sa.insert(t.jobs).values(**_job_values(job)))
                await self._job_links(conn, job, dep_ids)
                events.add("job.created", job_id=job.id, data={"name": job.name})
        except IntegrityError as exc:
            raise Conflict(
                f"a job named '{job.name}' already exists", details={"field": "name"}
            ) from exc

    async def replace(self, job: Job, *, dep_ids: list[str], now: datetime) -> None:
        values = _job_values(job)
        values.pop("created_at")
        try:
            async with self.db.write(now) as (conn, events):
                res = await conn.execute(
                    sa.update(t.jobs).where(t.jobs.c.id == job.id).values(**values)
                )
                if res.rowcount == 0:
                    raise NotFound(f"no job '{job.id}'")
                await conn.execute(sa.delete(t.job_tags).where(t.job_tags.c.job_id == job.id))
                await conn.execute(sa.delete(t.job_deps).where(t.job_deps.c.job_id == job.id))
                await self._job_links(conn, job, dep_ids)
                events.add("job.updated", job_id=job.id, data={"name": job.name})
        except IntegrityError as exc:
            raise Conflict(
                f"a job named '{job.name}' already exists", details={"field": "name"}
            ) from exc

    async def _job_links(self, conn: AsyncConnection, job: Job, dep_ids: list[str]) -> None:
        if job.spec.tags:
            await conn.execute(
                sa.insert(t.job_tags),
                [{"job_id": job.id, "tag": tag} for tag in set(job.spec.tags)],
            )
        if dep_ids:
            await conn.execute(
                sa.insert(t.job_deps), [{"job_id": job.id, "depends_on_id": d} for d in dep_ids]
            )

    async def delete(self, job_id: str, *, now: datetime) -> None:
        async with self.db.write(now) as (conn, events):
            # the lock order: the job, then its runs by id (the delete cascades to them)
            await lock_jobs(conn, self.db.dialect, [job_id], columns=(t.jobs.c.id,))
            await lock_runs(conn, self.db.dialect, t.runs.c.job_id == job_id)
            name = (
                await conn.execute(
                    sa.delete(t.jobs).where(t.jobs.c.id == job_id).returning(t.jobs.c.name)
                )
            ).scalar_one_or_none()
            if name is None:
                raise NotFound(f"no job '{job_id}'")
            await conn.execute(sa.delete(t.job_totals).where(t.job_totals.c.job_id == job_id))
            events.add("job.deleted", job_id=job_id, data={"name": name})

    async def get(self, ref: str, *, deps: bool = True) -> Job | None:
        """A job by id or name; ``deps=False`` leaves its dependencies unread (a trigger
        needs the spec, not the graph)."""
        col = t.jobs.c.id if ref.startswith("job-") else t.jobs.c.name
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(t.jobs).where(col == ref))).first()
            if row is None:
                return None
            if not deps:
                return job_from_row(row)
            found = await _deps_of(conn, [row.id])
        return job_from_row(row, found.get(row.id, []))

    async def resolve(self, refs: list[str]) -> dict[str, tuple[str, str]]:
        """Map each ref (id or name) that exists to (id, name)."""
        if not refs:
            return {}
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.jobs.c.id, t.jobs.c.name).where(
                        sa.or_(t.jobs.c.id.in_(refs), t.jobs.c.name.in_(refs))
                    )
                )
            ).all()
        out: dict[str, tuple[str, str]] = {}
        for row in rows:
            for ref in (row.id, row.name):
                if ref in refs:
                    out[ref] = (row.id, row.name)
        return out

    async def upstream_graph(self, start_ids: list[str]) -> dict[str, list[str]]:
        """Edges (name → dependency names) of everything reachable upstream of start_ids."""
        if not start_ids:
            return {}
        reach = (
            sa.select(t.job_deps.c.job_id, t.job_deps.c.depends_on_id)
            .where(t.job_deps.c.job_id.in_(start_ids))
            .cte("reach", recursive=True)
        )
        reach = reach.union(
            sa.select(t.job_deps.c.job_id, t.job_deps.c.depends_on_id).join(
                reach, t.job_deps.c.job_id == reach.c.depends_on_id
            )
        )
        child, parent = t.jobs.alias("child"), t.jobs.alias("parent")
        stmt = sa.select(child.c.name.label("job"), parent.c.name.label("dep")).select_from(
            reach.join(child, child.c.id == reach.c.job_id).join(
                parent, parent.c.id == reach.c.depends_on_id
            )
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        edges: dict[str, list[str]] = {}
        for row in rows:
            edges.setdefault(row.job, []).append(row.dep)
        return edges

    async def dependents(self, job_id: str) -> list[str]:
        stmt = (
            sa.select(t.jobs.c.name)
            .join(t.job_deps, t.job_deps.c.job_id == t.jobs.c.id)
            .where(t.job_deps.c.depends_on_id == job_id)
            .order_by(t.jobs.c.name)
        )
        async with self.db.read() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def dependencies(self, job_id: str) -> list[str]:
        stmt = (
            sa.select(t.jobs.c.name)
            .join(t.job_deps, t.job_deps.c.depends_on_id == t.jobs.c.id)
            .where(t.job_deps.c.job_id == job_id)
            .order_by(t.jobs.c.name)
        )
        async with self.db.read() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def set_enabled(
        self, job_id: str, *, enabled: bool, next_run: datetime | None, now: datetime
    ) -> bool:
        async with self.db.write(now) as (conn, events):
            row = (
                await conn.execute(sa.select(t.jobs.c.spec).where(t.jobs.c.id == job_id))
            ).first()
            if row is None:
                raise NotFound(f"no job '{job_id}'")
            spec = dict(row.spec) | {"enabled": enabled}
            res = await conn.execute(
                sa.update(t.jobs)
                .where(t.jobs.c.id == job_id, t.jobs.c.enabled != enabled)
                .values(enabled=enabled, spec=spec, next_run=next_run, updated_at=now)
            )
            changed = res.rowcount > 0
            if changed:
                events.add("job.resumed" if enabled else "job.paused", job_id=job_id)
        return changed

    async def page(
        self, flt: JobFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[Job], Total, str | None]:
        where = _job_filters(flt)
        page = sa.select(t.jobs).where(*where).order_by(t.jobs.c.name).limit(limit + 1)
        if cursor:
            page = page.where(t.jobs.c.name > decode_cursor(cursor, 1)[0])
        async with self.db.read() as conn:
            rows = (await conn.execute(page)).all()
            total = await count_matching(conn, t.jobs, where)
            deps = await _deps_of(conn, [r.id for r in rows[:limit]])
        jobs = [job_from_row(r, deps.get(r.id, [])) for r in rows[:limit]]
        nxt = encode_cursor(jobs[-1].name) if len(rows) > limit else None
        return jobs, total, nxt

    async def refresh_status(self, job_ids: list[str], *, now: datetime) -> list[str]:
        """Set each job's ``last_run_status`` and ``last_run_at`` from its latest run (by
        queue time) where they differ; the ids of the jobs changed. Run transitions do not
        write their job's row (a hot row under load); this projection follows them."""
        if not job_ids:
            return []
        r = t.runs.c
        latest = (
            sa.select(r.status, r.queued_at)
            .where(r.job_id == t.jobs.c.id)
            .order_by(r.queued_at.desc(), r.id.desc())
            .limit(1)
        )
        status = latest.with_only_columns(r.status).scalar_subquery()
        at = latest.with_only_columns(r.queued_at).scalar_subquery()
        async with self.db.write(now) as (conn, events):
            changed = (
                await conn.execute(
                    sa.update(t.jobs)
                    .where(
                        one_of(t.jobs.c.id, sorted(set(job_ids)), self.db.dialect),
                        sa.or_(
                            t.jobs.c.last_run_status.is_distinct_from(status),
                            t.jobs.c.last_run_at.is_distinct_from(at),
                        ),
                    )
                    .values(last_run_status=status, last_run_at=at)
                    .returning(t.jobs.c.id, t.jobs.c.last_run_status)
                )
            ).all()
            for row in changed:
                events.add("job.status", job_id=row.id, data={"status": row.last_run_status})
        return [row.id for row in changed]

    async def unsettled(self) -> list[str]:
        """Jobs a status projection may not have caught up with: those whose recorded status
        is queued or running, or who have a run queued or running."""
        r = t.runs.c
        stmt = sa.union(
            sa.select(t.jobs.c.id).where(t.jobs.c.last_run_status.in_(("queued", "running"))),
            sa.select(r.job_id).where(r.status.in_(("queued", "running"))).distinct(),
        )
        async with self.db.read() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def dag(self) -> tuple[list[Job], list[tuple[str, str]]]:
        """Every job that has or is a dependency, and the edges (upstream, dependent)."""
        child, parent = t.jobs.alias("child"), t.jobs.alias("parent")
        edge_stmt = sa.select(parent.c.name, child.c.name).select_from(
            t.job_deps.join(child, child.c.id == t.job_deps.c.job_id).join(
                parent, parent.c.id == t.job_deps.c.depends_on_id
            )
        )
        async with self.db.read() as conn:
            edges = [(a, b) for a, b in (await conn.execute(edge_stmt)).all()]
            names = {n for e in edges for n in e}
            rows = (
                (
                    await conn.execute(
                        sa.select(t.jobs).where(t.jobs.c.name.in_(names)).order_by(t.jobs.c.name)
                    )
                ).all()
                if names
                else []
            )
        return [job_from_row(r) for r in rows], edges


async def _deps_of(conn: AsyncConnection, job_ids: list[str]) -> dict[str, list[str]]:
    """The dependency names of each job (the graph, not the spec copy, is the truth)."""
    if not job_ids:
        return {}
    stmt = (
        sa.select(t.job_deps.c.job_id, t.jobs.c.name)
        .join(t.jobs, t.jobs.c.id == t.job_deps.c.depends_on_id)
        .where(t.job_deps.c.job_id.in_(job_ids))
        .order_by(t.jobs.c.name)
    )
    out: dict[str, list[str]] = {}
    for row in (await conn.execute(stmt)).all():
        out.setdefault(row.job_id, []).append(row.name)
    return out


def _job_filters(flt: JobFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if flt.status == "paused":
        where.append(sa.not_(t.jobs.c.enabled))
    elif flt.status == "idle":
        where += [t.jobs.c.enabled, t.jobs.c.last_run_status.is_(None)]
    elif flt.status:
        where += [t.jobs.c.enabled, t.jobs.c.last_run_status == flt.status]
    if flt.tag:
        where.append(
            sa.exists().where(t.job_tags.c.job_id == t.jobs.c.id, t.job_tags.c.tag == flt.tag)
        )
    if flt.schedule_type == "none":
        where.append(t.jobs.c.schedule_type.is_(None))
    elif flt.schedule_type:
        where.append(t.jobs.c.schedule_type == flt.schedule_type)
    if flt.q:  # ILIKE on PostgreSQL, served by the trigram index ix_jobs_name_trgm
        escaped = flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(t.jobs.c.name.ilike(f"%{escaped}%", escape="\\"))
    return where
