"""Dead letters: runs that failed with no retries left, until replayed or resolved."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tickwork.domain.errors import Conflict
from tickwork.domain.namespaces import EVERY_NAMESPACE, NamespaceFilter
from tickwork.domain.queries import DeadLetterGroup
from tickwork.domain.runs import DeadLetter
from tickwork.store import tables as t
from tickwork.store.database import JOB_NAME, Database
from tickwork.store.jobs_sql import namespace_where
from tickwork.store.rows import dead_letter_from_row

D = t.dead_letters


class DeadLetterRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(
        self,
        *,
        resolved: bool | None,
        limit: int,
        offset: int,
        namespaces: NamespaceFilter = EVERY_NAMESPACE,
    ) -> tuple[list[DeadLetter], int]:
        where = namespace_where(t.jobs.c.namespace, namespaces)
        if resolved is not None:
            where.append(D.c.resolved_at.isnot(None) if resolved else D.c.resolved_at.is_(None))
        stmt = (
            sa.select(*D.c, JOB_NAME.label("job_name"), t.jobs.c.namespace, t.jobs.c.one_off)
            .join(t.jobs, t.jobs.c.id == D.c.job_id)
            .where(*where)
            .order_by(D.c.created_at.desc())
            .limit(limit)
            .offset(offset)
        )
        counted = D if namespaces.everything else D.join(t.jobs, t.jobs.c.id == D.c.job_id)
        count = sa.select(sa.func.count()).select_from(counted).where(*where)
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
            total = (await conn.execute(count)).scalar_one()
        return [dead_letter_from_row(x) for x in rows], total

    async def groups(
        self, *, limit: int, namespaces: NamespaceFilter = EVERY_NAMESPACE
    ) -> list[DeadLetterGroup]:
        """Open dead letters counted by job and error summary, the largest groups first."""
        count = sa.func.count().label("count")
        latest = sa.func.max(D.c.created_at).label("latest_at")
        stmt = (
            sa.select(D.c.job_id, JOB_NAME.label("name"), D.c.error_summary, count, latest)
            .join(t.jobs, t.jobs.c.id == D.c.job_id)
            .where(D.c.resolved_at.is_(None), *namespace_where(t.jobs.c.namespace, namespaces))
            .group_by(D.c.job_id, t.jobs.c.id, D.c.error_summary)  # jobs.id: its columns too
            .order_by(count.desc(), latest.desc(), D.c.job_id, D.c.error_summary)
            .limit(limit)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            DeadLetterGroup(
                job_id=r.job_id,
                job_name=r.name,
                error_summary=r.error_summary,
                count=int(r[3]),
                latest_at=r.latest_at,
            )
            for r in rows
        ]

    async def get(self, dl_id: str) -> DeadLetter | None:
        stmt = (
            sa.select(*D.c, JOB_NAME.label("job_name"), t.jobs.c.namespace, t.jobs.c.one_off)
            .join(t.jobs, t.jobs.c.id == D.c.job_id)
            .where(D.c.id == dl_id)
        )
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return dead_letter_from_row(row) if row else None

    async def resolve(self, dl_id: str, *, note: str | None = None, now: datetime) -> None:
        """Mark an open entry handled, with ``note``; Conflict when it is not open."""
        async with self.db.write(now) as (conn, events):
            res = await conn.execute(
                sa.update(D)
                .where(D.c.id == dl_id, D.c.resolved_at.is_(None))
                .values(resolved_at=now, resolution="resolved", note=note)
                .returning(D.c.run_id, D.c.job_id)
            )
            row = res.first()
            if row is None:
                raise Conflict(f"dead letter '{dl_id}' does not exist or is already resolved")
            events.add("dead_letter.resolved", job_id=row.job_id, run_id=row.run_id)
