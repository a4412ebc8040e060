"""Pipelines: create, replace and delete (with their task jobs, in one transaction), look
up, list, pause; trigger, read, cancel and retry their runs. A pipeline run's progress as
its tasks finish is store/pipeline_flow.py's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.errors import Conflict, NotFound, ValidationError
from tickwork.domain.jobs import Dependency, Job
from tickwork.domain.namespaces import NamespaceFilter
from tickwork.domain.pipelines import (
    PIPELINE_ACTIVE,
    Pipeline,
    PipelineSpec,
    TaskNode,
    TaskSpec,
    job_name,
)
from tickwork.domain.queries import Total
from tickwork.store import tables as t
from tickwork.store.counting import count_matching
from tickwork.store.database import Database, Outbox
from tickwork.store.dialect import one_of
from tickwork.store.jobs_sql import (
    decode_cursor,
    encode_cursor,
    job_values,
    namespace_where,
)
from tickwork.store.locking import for_update, key_share, lock_jobs, lock_runs, no_key_update
from tickwork.store.quotas_sql import check_new_job, sync_job_rate
from tickwork.store.rows import job_from_row, tag_rows

PL = t.pipelines.c
P = t.pipeline_runs.c
J = t.jobs.c
R = t.runs.c


# --- rows ↔ records -------------------------------------------------------------------------


def _graph_json(spec: PipelineSpec) -> list[dict[str, Any]]:
    return [
        {
            "name": n.name,
            "depends_on": [{"job": e.job, "on": e.on} for e in n.depends_on],
            "trigger_rule": n.trigger_rule,
        }
        for n in spec.graph
    ]


def _pipeline_values(p: Pipeline) -> dict[str, Any]:
    s = p.spec
    schedule = s.parsed_schedule()
    return {
        "id": p.id,
        "namespace": s.namespace,
        "name": s.name,
        "spec": {
            "description": s.description,
            "schedule": s.schedule,
            "timezone": s.timezone,
            "calendar": s.calendar,
            "calendar_policy": s.calendar_policy,
            "on_overlap": s.on_overlap,
            "catchup": s.catchup,
            "enabled": s.enabled,
            "tags": list(s.tags),
            "tasks": _graph_json(s),
        },
        "schedule_type": schedule.kind if schedule else None,
        "enabled": s.enabled,
        "next_run": p.next_run,
        "calendar": s.calendar,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


def _nodes(spec_json: Mapping[str, Any]) -> list[TaskNode]:
    return [
        TaskNode(
            name=x["name"],
            depends_on=tuple(Dependency(e["job"], e["on"]) for e in x["depends_on"]),
            trigger_rule=x["trigger_rule"],
        )
        for x in spec_json["tasks"]
    ]


def pipeline_from(row: Any, jobs: Mapping[str, Job]) -> Pipeline:
    """A pipeline from its row and its task jobs (by job name)."""
    s = row.spec
    tasks: list[TaskSpec] = []
    job_ids: dict[str, str] = {}
    for node in _nodes(s):
        job = jobs.get(job_name(row.name, node.name))
        if job is None:
            continue
        tasks.append(TaskSpec(node, job.spec))
        job_ids[node.name] = job.id
    return Pipeline(
        id=row.id,
        spec=PipelineSpec(
            name=row.name,
            namespace=row.namespace,
            tasks=tuple(tasks),
            description=s.get("description", ""),
            schedule=s.get("schedule"),
            timezone=s.get("timezone", "UTC"),
            calendar=s.get("calendar"),
            calendar_policy=s.get("calendar_policy", "skip"),
            on_overlap=s.get("on_overlap", "skip"),
            catchup=s.get("catchup", "latest"),
            enabled=row.enabled,
            tags=tuple(s.get("tags") or ()),
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        next_run=row.next_run,
        job_ids=job_ids,
    )


async def _task_jobs(
    conn: AsyncConnection, dialect: str, pipeline_ids: list[str]
) -> dict[str, dict[str, Job]]:
    """The task jobs of these pipelines: by pipeline id, then by job name."""
    out: dict[str, dict[str, Job]] = {p: {} for p in pipeline_ids}
    if not pipeline_ids:
        return out
    rows = await conn.execute(sa.select(t.jobs).where(one_of(J.pipeline_id, pipeline_ids, dialect)))
    for r in rows.all():
        out[r.pipeline_id][r.name] = job_from_row(r)
    return out


def _ref_where(ref: str, namespace: str) -> sa.ColumnElement[bool]:
    if ref.startswith("pipe-"):
        return PL.id == ref
    return sa.and_(PL.namespace == namespace, PL.name == ref)


# --- the store ------------------------------------------------------------------------------


class PipelineRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- definitions ------------------------------------------------------------------------

    async def insert(self, pipeline: Pipeline, jobs: Sequence[Job], *, now: datetime) -> None:
        """The pipeline and its task jobs, in one transaction (a task whose job name is
        taken: 422 ``tasks[i].name``; the pipeline's name taken: 409)."""
        try:
            async with self.db.write(now) as (conn, events):
                await self._check_calendar(conn, pipeline)
                await conn.execute(sa.insert(t.pipelines).values(**_pipeline_values(pipeline)))
                await self._taken(conn, pipeline, jobs, own=())
                for job in jobs:
                    await self._insert_job(conn, events, job)
                events.add("pipeline.created", data=_named(pipeline))
        except IntegrityError as exc:
            raise Conflict(
                f"a pipeline named '{pipeline.name}' already exists in namespace "
                f"'{pipeline.spec.namespace}'",
                details={"field": "name"},
            ) from exc

    async def replace(self, pipeline: Pipeline, jobs: Sequence[Job], *, now: datetime) -> None:
        """The pipeline's new definition in one transaction: its row, its task jobs added,
        changed and removed (``jobs`` are all its tasks' jobs, the kept ones with their
        ids). Removing a task while a pipeline run is active: 409."""
        async with self.db.write(now) as (conn, events):
            await self._check_calendar(conn, pipeline)
            locked = await conn.execute(
                no_key_update(sa.select(PL.id).where(PL.id == pipeline.id), self.db.dialect)
            )
            if locked.first() is None:
                raise NotFound(f"no pipeline '{pipeline.id}'")
            current = {
                r.id: r
                for r in (
                    await conn.execute(sa.select(J.id, J.name).where(J.pipeline_id == pipeline.id))
                ).all()
            }
            keep = {j.id for j in jobs}
            removed = sorted(set(current) - keep)
            if removed:
                await self._refuse_if_active(conn, pipeline.id, "remove its tasks")
            await self._taken(conn, pipeline, [j for j in jobs if j.id not in current], own=())
            values = _pipeline_values(pipeline)
            values.pop("created_at")
            await conn.execute(sa.update(t.pipelines).where(PL.id == pipeline.id).values(**values))
            await lock_jobs(conn, self.db.dialect, [*current], columns=(J.id,))
            for job in jobs:
                if job.id in current:
                    await self._replace_job(conn, events, job)
                else:
                    await self._insert_job(conn, events, job)
            await self._delete_jobs(conn, events, removed)
            events.add("pipeline.updated", data=_named(pipeline))

    async def delete(self, pipeline_id: str, *, now: datetime) -> None:
        """Delete a pipeline, its task jobs (and their runs) and its runs; 409 while a
        pipeline run is active (the service cancels it first when forced)."""
        async with self.db.write(now) as (conn, events):
            row = (
                await conn.execute(
                    for_update(
                        sa.select(PL.id, PL.name, PL.namespace).where(PL.id == pipeline_id),
                        self.db.dialect,
                    )
                )
            ).first()
            if row is None:
                raise NotFound(f"no pipeline '{pipeline_id}'")
            await self._refuse_if_active(conn, pipeline_id, "be deleted")
            owned = list(
                (await conn.execute(sa.select(J.id).where(J.pipeline_id == pipeline_id))).scalars()
            )
            await lock_jobs(conn, self.db.dialect, owned, columns=(J.id,))
            await self._delete_jobs(conn, events, sorted(owned))
            await conn.execute(sa.delete(t.pipelines).where(PL.id == pipeline_id))
            events.add(
                "pipeline.deleted",
                data={"pipeline_id": pipeline_id, "name": row.name, "namespace": row.namespace},
            )

    async def set_enabled(
        self, pipeline_id: str, *, enabled: bool, next_run: datetime | None, now: datetime
    ) -> None:
        async with self.db.write(now) as (conn, events):
            row = (
                await conn.execute(
                    sa.select(PL.spec, PL.namespace, PL.name).where(PL.id == pipeline_id)
                )
            ).first()
            if row is None:
                raise NotFound(f"no pipeline '{pipeline_id}'")
            res = await conn.execute(
                sa.update(t.pipelines)
                .where(PL.id == pipeline_id, PL.enabled != enabled)
                .values(
                    enabled=enabled,
                    spec=dict(row.spec) | {"enabled": enabled},
                    next_run=next_run,
                    updated_at=now,
                )
            )
            if res.rowcount:
                events.add(
                    "pipeline.resumed" if enabled else "pipeline.paused",
                    data={"pipeline_id": pipeline_id, "name": row.name, "namespace": row.namespace},
                )

    async def _check_calendar(self, conn: AsyncConnection, pipeline: Pipeline) -> None:
        """The calendar the pipeline names exists (422 ``calendar``), held with ``FOR KEY
        SHARE`` so that it cannot be deleted before the pipeline is committed."""
        name, ns = pipeline.spec.calendar, pipeline.spec.namespace
        if name is None:
            return
        cal = t.calendars.c
        stmt = sa.select(cal.name).where(cal.namespace == ns, cal.name == name)
        if (await conn.execute(key_share(stmt, self.db.dialect))).first() is None:
            raise ValidationError("calendar", f"unknown calendar '{name}' in namespace '{ns}'")

    async def _taken(
        self, conn: AsyncConnection, pipeline: Pipeline, jobs: Sequence[Job], own: Sequence[str]
    ) -> None:
        """422 ``tasks[i].name`` when a new task's job name is another job's already."""
        if not jobs:
            return
        names = [j.name for j in jobs]
        found = set(
            (
                await conn.execute(
                    sa.select(J.name).where(
                        J.namespace == pipeline.spec.namespace,
                        one_of(J.name, names, self.db.dialect),
                    )
                )
            ).scalars()
        )
        for i, task in enumerate(pipeline.spec.tasks):
            name = job_name(pipeline.name, task.name)
            if name in found and name not in own:
                raise ValidationError(
                    f"tasks[{i}].name",
                    f"a job named '{name}' already exists in namespace '{pipeline.spec.namespace}'",
                )

    async def _insert_job(self, conn: AsyncConnection, events: Outbox, job: Job) -> None:
        await check_new_job(conn, self.db.dialect, job.spec.namespace)
        await conn.execute(sa.insert(t.jobs).values(**job_values(job)))
        await self._tags(conn, job)
        await sync_job_rate(conn, job)
        events.add("job.created", job_id=job.id, data=_job_named(job))

    async def _replace_job(self, conn: AsyncConnection, events: Outbox, job: Job) -> None:
        values = job_values(job)
        values.pop("created_at")
        values.pop("next_run")
        await conn.execute(sa.update(t.jobs).where(J.id == job.id).values(**values))
        await conn.execute(sa.delete(t.job_tags).where(t.job_tags.c.job_id == job.id))
        await self._tags(conn, job)
        await sync_job_rate(conn, job)
        events.add("job.updated", job_id=job.id, data=_job_named(job))

    async def _tags(self, conn: AsyncConnection, job: Job) -> None:
        if job.spec.tags:
            await conn.execute(sa.insert(t.job_tags), tag_rows(job))

    async def _delete_jobs(self, conn: AsyncConnection, events: Outbox, job_ids: list[str]) -> None:
        """Delete these task jobs (locked by the caller) and their runs."""
        if not job_ids:
            return
        await lock_runs(conn, self.db.dialect, one_of(R.job_id, job_ids, self.db.dialect))
        gone = await conn.execute(
            sa.delete(t.jobs)
            .where(one_of(J.id, job_ids, self.db.dialect))
            .returning(J.id, J.name, J.namespace)
        )
        for row in gone.all():
            events.add(
                "job.deleted", job_id=row.id, data={"name": row.name, "namespace": row.namespace}
            )
        await conn.execute(
            sa.delete(t.job_totals).where(one_of(t.job_totals.c.job_id, job_ids, self.db.dialect))
        )

    async def _refuse_if_active(self, conn: AsyncConnection, pipeline_id: str, what: str) -> None:
        active = (
            (
                await conn.execute(
                    sa.select(P.id).where(
                        P.pipeline_id == pipeline_id, P.status.in_(PIPELINE_ACTIVE)
                    )
                )
            )
            .scalars()
            .all()
        )
        if active:
            raise Conflict(
                f"pipeline run {', '.join(active)} is active; the pipeline cannot {what} "
                "until it ends (or pass force=true to cancel it)",
                details={"active_runs": list(active)},
            )

    # --- reads --------------------------------------------------------------------------------

    async def get(self, ref: str, *, namespace: str) -> Pipeline | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(sa.select(t.pipelines).where(_ref_where(ref, namespace)))
            ).first()
            if row is None:
                return None
            jobs = await _task_jobs(conn, self.db.dialect, [row.id])
        return pipeline_from(row, jobs[row.id])

    async def owner(self, pipeline_id: str) -> str | None:
        """A pipeline's name (what a 409 on one of its task jobs names)."""
        async with self.db.read() as conn:
            found = await conn.execute(sa.select(PL.name).where(PL.id == pipeline_id))
            return found.scalar()

    async def page(
        self, namespaces: NamespaceFilter, *, q: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Pipeline], Total, str | None]:
        """Pipelines by namespace and name, with keyset pagination."""
        where = namespace_where(PL.namespace, namespaces)
        if q:
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(PL.name.ilike(f"%{escaped}%", escape="\\"))
        stmt = sa.select(t.pipelines).where(*where).order_by(PL.namespace, PL.name).limit(limit + 1)
        if cursor:
            ns, name = decode_cursor(cursor, 2)
            stmt = stmt.where(sa.tuple_(PL.namespace, PL.name) > sa.tuple_(ns, name))
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
            total = await count_matching(conn, t.pipelines, where)
            jobs = await _task_jobs(conn, self.db.dialect, [r.id for r in rows[:limit]])
        out = [pipeline_from(r, jobs[r.id]) for r in rows[:limit]]
        nxt = None
        if len(rows) > limit:
            nxt = encode_cursor(out[-1].spec.namespace, out[-1].name)
        return out, total, nxt


def _named(p: Pipeline) -> dict[str, str]:
    return {"pipeline_id": p.id, "name": p.name, "namespace": p.spec.namespace}


def _job_named(job: Job) -> dict[str, str]:
    return {"name": job.name, "namespace": job.spec.namespace}
