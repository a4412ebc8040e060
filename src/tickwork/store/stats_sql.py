"""Aggregates for the overview, metrics and health, and the run totals they read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tickwork.domain.queries import JobStats
from tickwork.domain.totals import Totals, hour_of
from tickwork.store import tables as t
from tickwork.store.counting import count_matching
from tickwork.store.database import Database
from tickwork.store.dialect import upsert_many
from tickwork.store.jobs_sql import JOB

R = t.runs.c
J = t.jobs.c
H = t.run_hours.c
T = t.job_totals.c
P = t.projections.c

TOTALS = "run_totals"
"""The run totals' row in ``projections``."""


class StatsRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def overview(self, *, now: datetime) -> dict[str, Any]:
        """The overview's figures, each from an index or the kept totals: the cost does not
        grow with the number of finished runs."""
        day = hour_of(now) - timedelta(hours=23)
        async with self.db.read() as conn:
            active: dict[str, int] = dict(
                (
                    await conn.execute(
                        sa.select(R.status, sa.func.count())
                        .where(R.status.in_(("queued", "running")))
                        .group_by(R.status)
                    )
                ).all()
            )
            finished: dict[str, int] = {
                status: int(n)
                for status, n in await conn.execute(
                    sa.select(H.status, sa.func.sum(H.runs)).group_by(H.status)
                )
            }
            # exact up to 10,000, then the planner's estimate: a million jobs are not
            # counted one by one on every overview poll
            # (one-off runs' hidden definitions are runs', not jobs)
            jobs = await count_matching(conn, t.jobs, [JOB])
            enabled = await count_matching(conn, t.jobs, [J.enabled, JOB])
            ready = (
                await conn.execute(
                    sa.select(sa.func.count()).where(
                        R.status == "queued", sa.or_(R.not_before.is_(None), R.not_before <= now)
                    )
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
                    sa.select(sa.func.min(J.next_run)).where(J.enabled, J.next_run <= now)
                )
            ).scalar()
            series = [
                (bucket, status, int(n))
                for bucket, status, n in await conn.execute(
                    sa.select(H.bucket, H.status, H.runs).where(H.bucket >= day)
                )
            ]
        return {
            "by_status": {**finished, **active},
            "jobs": jobs.count,
            "jobs_enabled": enabled.count,
            "jobs_exact": jobs.exact and enabled.exact,
            "ready": ready,
            "failed_24h": sum(n for _, status, n in series if status == "failed"),
            "workers_online": workers[0],
            "slots": int(workers[1]),
            "oldest_due": oldest_due,
            "hours": series,
        }

    async def job_totals(self, job_id: str) -> JobStats:
        """A job's finished runs by outcome and mean duration (kept totals), plus its
        queued and running runs (an index)."""
        async with self.db.read() as conn:
            totals = {
                row.status: row
                for row in await conn.execute(
                    sa.select(T.status, T.runs, T.seconds, T.timed).where(T.job_id == job_id)
                )
            }
            active = (
                await conn.execute(
                    sa.select(sa.func.count()).where(
                        R.job_id == job_id, R.status.in_(("queued", "running"))
                    )
                )
            ).scalar_one()
        done = totals.get("completed")
        return JobStats(
            total_runs=int(active) + sum(int(r.runs) for r in totals.values()),
            completed=int(done.runs) if done else 0,
            failed=int(totals["failed"].runs) if "failed" in totals else 0,
            avg_duration=float(done.seconds) / int(done.timed) if done and done.timed else None,
        )

    async def totals_at(self) -> int | None:
        """The outbox row the run totals have counted up to (None: not set up)."""
        async with self.db.read() as conn:
            return (
                await conn.execute(sa.select(P.row_id).where(P.name == TOTALS))
            ).scalar_one_or_none()

    async def add_totals(self, totals: Totals, *, since: int, upto: int, now: datetime) -> bool:
        """Add what outbox rows ``since`` < id <= ``upto`` hold to the totals, and move the
        stored position there, in one transaction; False (nothing written) when the stored
        position is no longer ``since`` (another leader counted meanwhile)."""
        async with self.db.write(now) as (conn, _events):
            moved = await conn.execute(
                sa.update(t.projections)
                .where(P.name == TOTALS, P.row_id == since)
                .values(row_id=upto)
            )
            if moved.rowcount != 1:
                return False
            hours = [{"bucket": b, "status": s, "runs": n} for (b, s), n in totals.hours.items()]
            jobs = [
                {"job_id": j, "status": s, "runs": v.runs, "seconds": v.seconds, "timed": v.timed}
                for (j, s), v in sorted(totals.jobs.items())
            ]
            dialect = self.db.dialect
            await upsert_many(
                conn,
                t.run_hours,
                hours,
                keys=["bucket", "status"],
                update=["runs"],
                dialect_name=dialect,
                add=True,
            )
            await upsert_many(
                conn,
                t.job_totals,
                jobs,
                keys=["job_id", "status"],
                update=["runs", "seconds", "timed"],
                dialect_name=dialect,
                add=True,
            )
        return True
