"""Read-only aggregates for the overview, metrics and health."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tickwork.store import tables as t
from tickwork.store.database import Database

R = t.runs.c
J = t.jobs.c


class StatsRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def overview(self, *, now: datetime) -> dict[str, Any]:
        day = now - timedelta(hours=24)
        async with self.db.read() as conn:
            by_status: dict[str, int] = dict(
                (await conn.execute(sa.select(R.status, sa.func.count()).group_by(R.status))).all()
            )
            jobs = (
                await conn.execute(
                    sa.select(sa.func.count(), sa.func.count().filter(J.enabled.is_(True)))
                )
            ).one()
            ready = (
                await conn.execute(
                    sa.select(sa.func.count()).where(
                        R.status == "queued", sa.or_(R.not_before.is_(None), R.not_before <= now)
                    )
                )
            ).scalar_one()
            failed_24h = (
                await conn.execute(
                    sa.select(sa.func.count()).where(R.status == "failed", R.finished_at >= day)
                )
            ).scalar_one()
            workers = (
                await conn.execute(
                    sa.select(
                        sa.func.count(), sa.func.coalesce(sa.func.sum(t.workers.c.concurrency), 0)
                    ).where(t.workers.c.status == "online")
                )
            ).one()
            oldest_due = (
                await conn.execute(
                    sa.select(sa.func.min(J.next_run)).where(J.enabled.is_(True), J.next_run <= now)
                )
            ).scalar()
            series = (
                await conn.execute(
                    sa.select(R.status, R.finished_at).where(
                        R.finished_at >= day, R.status.in_(("completed", "failed"))
                    )
                )
            ).all()
        return {
            "by_status": by_status,
            "jobs": jobs[0],
            "jobs_enabled": jobs[1],
            "ready": ready,
            "failed_24h": failed_24h,
            "workers_online": workers[0],
            "slots": int(workers[1]),
            "oldest_due": oldest_due,
            "finished_24h": series,
        }
