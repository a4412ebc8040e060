"""Jobs: create, replace, delete, look up, list, and the dependency graph."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.errors import Conflict, NotFound, ValidationError
from tickwork.domain.jobs import Dependency, DependOn, Job, expect_every_seconds
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, NamespaceFilter, split_ref
from tickwork.domain.queries import JobFilter, Total
from tickwork.store import tables as t
from tickwork.store.counting import count_matching
from tickwork.store.database import Database
from tickwork.store.dialect import one_of
from tickwork.store.locking import key_share, lock_jobs, lock_runs
from tickwork.store.quotas_sql import check_new_job, sync_job_rate
from tickwork.store.rows import job_from_row, spec_to_json, tag_rows
from tickwork.store.run_writes import not_waiting, withdraw_ahead

JOB = sa.not_(t.jobs.c.one_off)
"""A job row that is a job (not the hidden definition of a one-off run): what every job
list, count and lookup by id or name keeps to."""


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


def job_values(job: Job) -> dict[str, Any]:
    """A job's row (``pipeline_id`` included: the pipeline that owns it, if any)."""
    return _job_values(job) | {"pipeline_id": job.pipeline_id}


def _job_values(job: Job) -> dict[str, Any]:
    spec = job.spec
    schedule = spec.parsed_schedule()
    return {
        "id": job.id,
        "name": spec.name,
        "namespace": spec.namespace,
        "type": spec.type,
        "spec": spec_to_json(spec),
        "schedule_type": schedule.kind if schedule else None,
        "route": spec.route,
        "enabled": spec.enabled,
        "priority": spec.priority,
        "concurrency": spec.concurrency,
        "retention_days": spec.retention_days,
        "retention_runs": spec.retention_runs,
        "calendar": spec.calendar,
        "calendar_policy": spec.calendar_policy if spec.calendar else None,
        "sla_finish_within": spec.sla_finish_within,
        "sla_max_duration": spec.sla_max_duration,
        "expect_every": expect_every_seconds(spec),
        "next_run": job.next_run,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


async def check_calendar(conn: AsyncConnection, dialect: str, job: Job) -> None:
    """In a job's write: the calendar it names exists (422 ``calendar`` if not), held with
    ``FOR KEY SHARE`` so that it cannot be deleted before the job is committed."""
    name = job.spec.calendar
    if name is None:
        return
    stmt = sa.select(t.calendars.c.name).where(
        t.calendars.c.namespace == job.spec.namespace, t.calendars.c.name == name
    )
    if (await conn.execute(key_share(stmt, dialect))).first() is None:
        raise ValidationError(
            "calendar", f"unknown calendar '{name}' in namespace '{job.spec.namespace}'"
        )


class JobRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, job: Job, *, deps: dict[str, DependOn], now: datetime) -> None:
        """Insert a job and its edges (``deps``: upstream job id → condition)."""
        try:
            async with self.db.write(now) as (conn, events):
                await check_calendar(conn, self.db.dialect, job)
                await check_new_job(conn, self.db.dialect, job.spec.namespace)
                await conn.execute(sa.insert(t.jobs).values(**_job_values(job)))
                await self._job_links(conn, job, deps)
                await sync_job_rate(conn, job)
                events.add("job.created", job_id=job.id, data=_named(job))
        except IntegrityError as exc:
            raise Conflict(
                f"a job named '{job.name}' already exists in namespace '{job.spec.namespace}'",
                details={"field": "name"},
            ) from exc

    async def replace(
        self, job: Job, *, deps: dict[str, DependOn], now: datetime, retimed: bool = False
    ) -> None:
        """Replace a job's definition. Its runs written ahead whose time has not come are
        withdrawn (they were made from the old one); unless its timing changed (``retimed``:
        its ``next_run`` planned anew), it is due again from the earliest of them, so they
        are written anew from the new definition."""
        values = _job_values(job)
        values.pop("created_at")
        try:
            async with self.db.write(now) as (conn, events):
                await check_calendar(conn, self.db.dialect, job)
                await lock_jobs(conn, self.db.dialect, [job.id], columns=(t.jobs.c.id,))
                withdrawn = await withdraw_ahead(
                    conn, self.db.dialect, events, [job.id], now, reason="job updated"
                )
                if job.id in withdrawn and job.next_run is not None and not retimed:
                    values["next_run"] = min(job.next_run, withdrawn[job.id])
                res = await conn.execute(
                    sa.update(t.jobs).where(t.jobs.c.id == job.id).values(**values)
                )
                if res.rowcount == 0:
                    raise NotFound(f"no job '{job.id}'")
                await conn.execute(sa.delete(t.job_tags).where(t.job_tags.c.job_id == job.id))
                await conn.execute(sa.delete(t.job_deps).where(t.job_deps.c.job_id == job.id))
                await self._job_links(conn, job, deps)
                await sync_job_rate(conn, job)
                events.add("job.updated", job_id=job.id, data=_named(job))
        except IntegrityError as exc:
            raise Conflict(
                f"a job named '{job.name}' already exists in namespace '{job.spec.namespace}'",
                details={"field": "name"},
            ) from exc

    async def _job_links(self, conn: AsyncConnection, job: Job, deps: dict[str, DependOn]) -> None:
        if job.spec.tags:
            await conn.execute(sa.insert(t.job_tags), tag_rows(job))
        if deps:
            await conn.execute(
                sa.insert(t.job_deps),
                [
                    {"job_id": job.id, "depends_on_id": d, "condition": on}
                    for d, on in sorted(deps.items())
                ],
            )

    async def delete(self, job_id: str, *, now: datetime) -> None:
        async with self.db.write(now) as (conn, events):
            # the lock order: the job, then its runs by id (the delete cascades to them)
            await lock_jobs(conn, self.db.dialect, [job_id], columns=(t.jobs.c.id,))
            await lock_runs(conn, self.db.dialect, t.runs.c.job_id == job_id)
            gone = (
                await conn.execute(
                    sa.delete(t.jobs)
                    .where(t.jobs.c.id == job_id)
                    .returning(t.jobs.c.name, t.jobs.c.namespace)
                )
            ).first()
            if gone is None:
                raise NotFound(f"no job '{job_id}'")
            await conn.execute(sa.delete(t.job_totals).where(t.job_totals.c.job_id == job_id))
            events.add(
                "job.deleted", job_id=job_id, data={"name": gone.name, "namespace": gone.namespace}
            )

    async def get(
        self, ref: str, *, namespace: str = DEFAULT_NAMESPACE, deps: bool = True
    ) -> Job | None:
        """A job by id, or by name in ``namespace``; ``deps=False`` leaves its dependencies
        unread (a trigger needs the spec, not the graph)."""
        where = (
            t.jobs.c.id == ref
            if ref.startswith("job-")
            else sa.and_(t.jobs.c.namespace == namespace, t.jobs.c.name == ref)
        )
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(t.jobs).where(where, JOB))).first()
            if row is None:
                return None
            if not deps:
                return job_from_row(row)
            found = await _deps_of(conn, [row.id])
        return job_from_row(row, found.get(row.id, []))

    async def resolve(
        self, refs: list[str], *, namespace: str = DEFAULT_NAMESPACE
    ) -> dict[str, tuple[str, str]]:
        """Map each ref that exists to (id, name): an id, a name in ``namespace``, or
        ``other-ns/name``; the name given is the job's name as its dependents show it (its
        namespace before it when that is not ``namespace``)."""
        if not refs:
            return {}
        wanted = {ref: split_ref(ref, namespace) for ref in refs}
        by_name = sa.tuple_(t.jobs.c.namespace, t.jobs.c.name).in_(
            sorted({pair for pair in wanted.values() if not pair[1].startswith("job-")})
        )
        jc = t.jobs.c
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(jc.id, jc.name, jc.namespace).where(
                        sa.or_(jc.id.in_(refs), by_name), JOB
                    )
                )
            ).all()
        out: dict[str, tuple[str, str]] = {}
        for row in rows:
            shown = row.name if row.namespace == namespace else f"{row.namespace}/{row.name}"
            for ref, (ns, name) in wanted.items():
                if ref == row.id or (ns, name) == (row.namespace, row.name):
                    out[ref] = (row.id, shown)
        return out

    async def namespaces_of(self, job_ids: list[str]) -> dict[str, str]:
        """Each existing job's namespace."""
        if not job_ids:
            return {}
        stmt = sa.select(t.jobs.c.id, t.jobs.c.namespace).where(
            one_of(t.jobs.c.id, sorted(set(job_ids)), self.db.dialect)
        )
        async with self.db.read() as conn:
            return {r.id: r.namespace for r in (await conn.execute(stmt)).all()}

    async def namespace_counts(self, namespaces: NamespaceFilter) -> dict[str, int]:
        """Jobs per namespace, of the namespaces the filter allows that hold any."""
        stmt = (
            sa.select(t.jobs.c.namespace, sa.func.count())
            .where(*namespace_where(t.jobs.c.namespace, namespaces), JOB)
            .group_by(t.jobs.c.namespace)
            .order_by(t.jobs.c.namespace)
        )
        async with self.db.read() as conn:
            return {ns: int(n) for ns, n in (await conn.execute(stmt)).all()}

    async def upstream_graph(self, start_ids: list[str]) -> dict[str, list[str]]:
        """Edges (job id → dependency ids) of everything reachable upstream of start_ids."""
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
        stmt = sa.select(reach.c.job_id, reach.c.depends_on_id)
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        edges: dict[str, list[str]] = {}
        for job_id, dep_id in rows:
            edges.setdefault(job_id, []).append(dep_id)
        return edges

    async def dependents(self, job_id: str) -> list[str]:
        """The names of the jobs that depend on this one (``namespace/name`` for one of
        another namespace)."""
        own = sa.select(t.jobs.c.namespace).where(t.jobs.c.id == job_id).scalar_subquery()
        stmt = (
            sa.select(t.jobs.c.name, t.jobs.c.namespace, own.label("own"))
            .join(t.job_deps, t.job_deps.c.job_id == t.jobs.c.id)
            .where(t.job_deps.c.depends_on_id == job_id)
            .order_by(t.jobs.c.namespace, t.jobs.c.name)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [r.name if r.namespace == r.own else f"{r.namespace}/{r.name}" for r in rows]

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
            if not enabled:  # its runs written ahead are withdrawn; a resume plans anew
                await lock_jobs(conn, self.db.dialect, [job_id], columns=(t.jobs.c.id,))
                await withdraw_ahead(
                    conn, self.db.dialect, events, [job_id], now, reason="job paused"
                )
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
        """A page of jobs by name, then namespace (names are unique per namespace only):
        ``ix_jobs_list`` and the filters' indexes give that order, so a page reads its rows
        and no more, at any size of the table."""
        source: sa.FromClause = t.jobs
        counted: sa.FromClause = t.jobs
        name, namespace = t.jobs.c.name, t.jobs.c.namespace
        if flt.tag:
            # by tag: the tag's rows give the jobs in the list's order (ix_job_tags_list),
            # and count alone when no other filter needs the job's row
            g = t.job_tags.c
            name, namespace = g.name, g.namespace
            others = _job_filters(flt)
            where = [*namespace_where(g.namespace, flt.namespaces), g.tag == flt.tag, g.listed]
            where += others
            source = t.job_tags.join(t.jobs, t.jobs.c.id == g.job_id)
            counted = source if others else t.job_tags
        else:
            where = [*namespace_where(namespace, flt.namespaces), JOB, *_job_filters(flt)]
        page = sa.select(t.jobs).select_from(source).where(*where)
        page = page.order_by(name, namespace).limit(limit + 1)
        if cursor:
            page = page.where(_after_job(cursor, name, namespace))
        async with self.db.read() as conn:
            rows = (await conn.execute(page)).all()
            total = await count_matching(conn, counted, where)
            deps = await _deps_of(conn, [r.id for r in rows[:limit]])
        jobs = [job_from_row(r, deps.get(r.id, [])) for r in rows[:limit]]
        last = jobs[-1] if jobs else None
        nxt = (
            encode_cursor(last.name, last.spec.namespace)
            if last is not None and len(rows) > limit
            else None
        )
        return jobs, total, nxt

    async def written_ahead(self, job_ids: list[str], *, now: datetime) -> dict[str, datetime]:
        """Each job's soonest fire time still to come among its runs written ahead of their
        tick (``schedule_ahead``): when the job really fires next, where its ``next_run``
        has moved past the tick already written. One read on the active-runs index."""
        if not job_ids:
            return {}
        r = t.runs.c
        stmt = (
            sa.select(r.job_id, sa.func.min(r.not_before))
            .where(
                one_of(r.job_id, job_ids, self.db.dialect),
                r.status == "queued",
                r.ahead.is_not(None),
                r.not_before > now,
            )
            .group_by(r.job_id)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return {row[0]: row[1] for row in rows}

    async def refresh_status(self, job_ids: list[str], *, now: datetime) -> list[str]:
        """Set each job's ``last_run_status`` and ``last_run_at`` from its latest run (by
        queue time) where they differ; the ids of the jobs changed. Run transitions do not
        write their job's row (a hot row under load); this projection follows them. A run
        written ahead of its tick is not the latest before its fire time."""
        if not job_ids:
            return []
        r = t.runs.c
        latest = (
            sa.select(r.status, r.queued_at)
            .where(r.job_id == t.jobs.c.id, not_waiting(now))
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
                        JOB,  # a one-off run's hidden definition is in no list: no status
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
            sa.select(t.jobs.c.id).where(t.jobs.c.last_run_status.in_(("queued", "running")), JOB),
            sa.select(r.job_id)
            .join(t.jobs, t.jobs.c.id == r.job_id)
            .where(r.status.in_(("queued", "running")), JOB)
            .distinct(),
        )
        async with self.db.read() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def dag(self, namespace: str) -> tuple[list[Job], list[tuple[str, str, DependOn]]]:
        """The jobs of ``namespace`` that have or are a dependency, with the jobs of other
        namespaces at the far end of an edge, and the edges (upstream id, dependent id,
        condition)."""
        child, parent = t.jobs.alias("child"), t.jobs.alias("parent")
        edge_stmt = (
            sa.select(parent.c.id, child.c.id, t.job_deps.c.condition)
            .select_from(
                t.job_deps.join(child, child.c.id == t.job_deps.c.job_id).join(
                    parent, parent.c.id == t.job_deps.c.depends_on_id
                )
            )
            .where(sa.or_(child.c.namespace == namespace, parent.c.namespace == namespace))
        )
        async with self.db.read() as conn:
            edges = [(a, b, on) for a, b, on in (await conn.execute(edge_stmt)).all()]
            ids = sorted({n for a, b, _ in edges for n in (a, b)})
            rows = (
                (
                    await conn.execute(
                        sa.select(t.jobs)
                        .where(one_of(t.jobs.c.id, ids, self.db.dialect))
                        .order_by(t.jobs.c.namespace, t.jobs.c.name)
                    )
                ).all()
                if ids
                else []
            )
        return [job_from_row(r) for r in rows], edges


def _named(job: Job) -> dict[str, str]:
    return {"name": job.name, "namespace": job.spec.namespace}


def _after_job(
    cursor: str, name: sa.ColumnElement[str], namespace: sa.ColumnElement[str]
) -> sa.ColumnElement[bool]:
    """The jobs after a page's last (name, namespace); a cursor of the name alone (issued
    before namespaces shared names in one list) goes on after that name."""
    try:
        last, space = decode_cursor(cursor, 2)
    except ValueError:
        return name > decode_cursor(cursor, 1)[0]
    return sa.tuple_(name, namespace) > sa.tuple_(sa.literal(last), sa.literal(space))


def namespace_where(
    column: sa.ColumnElement[str], namespaces: NamespaceFilter
) -> list[sa.ColumnElement[bool]]:
    """The predicates that keep a list to the namespaces a filter allows."""
    where: list[sa.ColumnElement[bool]] = []
    if namespaces.only is not None:
        where.append(column.in_(sorted(namespaces.only)))
    if namespaces.but:
        where.append(column.not_in(sorted(namespaces.but)))
    return where


async def _deps_of(conn: AsyncConnection, job_ids: list[str]) -> dict[str, list[Dependency]]:
    """The dependencies of each job (the graph, not the spec copy, is the truth): by name,
    ``namespace/name`` for one of another namespace, with the edge's condition."""
    if not job_ids:
        return {}
    child, parent = t.jobs.alias("child"), t.jobs.alias("parent")
    d = t.job_deps.c
    stmt = (
        sa.select(d.job_id, parent.c.name, parent.c.namespace, child.c.namespace, d.condition)
        .join(parent, parent.c.id == t.job_deps.c.depends_on_id)
        .join(child, child.c.id == t.job_deps.c.job_id)
        .where(t.job_deps.c.job_id.in_(job_ids))
        .order_by(parent.c.namespace, parent.c.name)
    )
    out: dict[str, list[Dependency]] = {}
    for job_id, name, dep_ns, own_ns, on in (await conn.execute(stmt)).all():
        shown = name if dep_ns == own_ns else f"{dep_ns}/{name}"
        out.setdefault(job_id, []).append(Dependency(shown, on))
    return out


def _job_filters(flt: JobFilter) -> list[sa.ColumnElement[bool]]:
    """The filters on the job's own row (a tag is the join of ``page``)."""
    where: list[sa.ColumnElement[bool]] = []
    if flt.status == "paused":
        where.append(sa.not_(t.jobs.c.enabled))
    elif flt.status == "idle":
        where += [t.jobs.c.enabled, t.jobs.c.last_run_status.is_(None)]
    elif flt.status:
        where += [t.jobs.c.enabled, t.jobs.c.last_run_status == flt.status]
    if flt.schedule_type == "none":
        where.append(t.jobs.c.schedule_type.is_(None))
    elif flt.schedule_type:
        where.append(t.jobs.c.schedule_type == flt.schedule_type)
    if flt.q:  # ILIKE on PostgreSQL, served by the trigram index ix_jobs_name_trgm
        escaped = flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(t.jobs.c.name.ilike(f"%{escaped}%", escape="\\"))
    return where
