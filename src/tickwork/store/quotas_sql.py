"""Quotas of namespaces and rate limits of jobs and tags (domain/quotas.py).

A create or trigger in a namespace with quotas locks that namespace's quota row (after the
jobs, before any run: store/locking.py) and counts under it, so two coordinators can never
both take the last place; a namespace without quotas costs one primary-key read. Counts stop
at the limit (``LIMIT limit + 1``): a check reads no more rows than its quota allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.jobs import Job
from tickwork.domain.quotas import (
    NO_QUOTAS,
    QUOTA_NAMES,
    QuotaExceeded,
    Quotas,
    RateLimit,
    RateWindow,
    Usage,
    check_room,
    job_rate_key,
    rate_limit_of,
    runs_room,
    tag_rate_key,
)
from tickwork.domain.runs import TERMINAL
from tickwork.store import tables as t
from tickwork.store.database import Database
from tickwork.store.dialect import one_of
from tickwork.store.locking import no_key_update
from tickwork.store.run_writes import not_waiting

Q = t.namespace_quotas.c
L = t.rate_limits.c
R = t.runs.c
J = t.jobs.c
A = t.attempts.c
HOUR = timedelta(hours=1)


def _quotas(row: Any, tags: Mapping[str, RateLimit]) -> Quotas:
    return Quotas(**{name: getattr(row, name) for name in QUOTA_NAMES}, tag_rate_limits=tags)


REFUSING = sa.or_(*(Q[name].is_not(None) for name in ("max_jobs", "max_queued", "runs_per_hour")))
"""A quota row that can refuse a create or trigger (only those are locked by them: a row of
running quota alone is the claims')."""


async def lock_quotas(
    conn: AsyncConnection, dialect: str, namespaces: Iterable[str]
) -> dict[str, Quotas]:
    """The quotas of these namespaces that may refuse a create or trigger, each row locked
    (by namespace, the lock order) until the transaction ends."""
    names = sorted(set(namespaces))
    if not names:
        return {}
    stmt = sa.select(t.namespace_quotas).where(one_of(Q.namespace, names, dialect), REFUSING)
    rows = (await conn.execute(no_key_update(stmt.order_by(Q.namespace), dialect))).all()
    return {r.namespace: _quotas(r, {}) for r in rows}


async def _count(
    conn: AsyncConnection, where: Sequence[Any], table: sa.Table, cap: int | None
) -> int:
    inner = sa.select(sa.literal(1)).select_from(table).where(*where)
    if cap is not None:
        inner = inner.limit(cap + 1)
    stmt = sa.select(sa.func.count()).select_from(inner.subquery())
    return int((await conn.execute(stmt)).scalar_one())


async def count_usage(
    conn: AsyncConnection, namespace: str, quotas: Quotas, *, now: datetime, exact: bool = False
) -> Usage:
    """The namespace's use of each quota it has (0 for the others); a count stops just past
    its limit unless ``exact`` (output bytes, a sum over its attempts, only when ``exact``)."""

    def cap(name: str) -> int | None:
        return None if exact else quotas.limit(name)

    def wanted(name: str) -> bool:
        return quotas.limit(name) is not None

    figures: dict[str, int] = {}
    if wanted("max_jobs"):
        figures["jobs"] = await _count(
            conn, [J.namespace == namespace, ~J.one_off], t.jobs, cap("max_jobs")
        )
    if wanted("max_queued"):
        # a run written ahead of its tick counts from its fire time (store/run_writes.py)
        where = [R.namespace == namespace, R.status == "queued", not_waiting(now)]
        figures["queued"] = await _count(conn, where, t.runs, cap("max_queued"))
    if wanted("max_running"):
        where = [R.status == "running", R.namespace == namespace]
        figures["running"] = await _count(conn, where, t.runs, cap("max_running"))
    if wanted("runs_per_hour"):
        where = [R.namespace == namespace, R.queued_at > now - HOUR, R.queued_at <= now]
        figures["runs_last_hour"] = await _count(conn, where, t.runs, cap("runs_per_hour"))
    if exact and wanted("max_output_bytes"):
        figures["output_bytes"] = await _output_bytes(conn, namespace)
    return Usage(**figures)


async def _output_bytes(conn: AsyncConnection, namespace: str) -> int:
    size = sa.func.coalesce(sa.func.sum(sa.func.length(A.stdout) + sa.func.length(A.stderr)), 0)
    stmt = (
        sa.select(size)
        .select_from(t.attempts.join(t.runs, R.id == A.run_id))
        .where(R.namespace == namespace, sa.not_(A.output_pruned))
    )
    return int((await conn.execute(stmt)).scalar_one())


async def check_new_runs(
    conn: AsyncConnection, dialect: str, wanted: Mapping[str, int], *, now: datetime
) -> None:
    """QuotaExceeded when the runs ``wanted`` (per namespace) would pass a quota of their
    namespace; the quota rows stay locked, so the insert that follows is counted by the next
    check."""
    quotas = await lock_quotas(conn, dialect, [ns for ns, n in wanted.items() if n])
    for ns, q in quotas.items():
        if q.refuses:
            usage = await count_usage(conn, ns, q, now=now)
            check_room(ns, q, usage, new_runs=wanted[ns])


async def runs_rooms(
    conn: AsyncConnection, dialect: str, namespaces: Iterable[str], *, now: datetime
) -> dict[str, tuple[int | None, QuotaExceeded]]:
    """For each of these namespaces with a quota on new runs: how many more runs it may
    take now and the refusal of the one after them (``runs_room``); the quota rows stay
    locked until the transaction ends, so what it inserts is counted by the next one."""
    out = {}
    for ns, q in (await lock_quotas(conn, dialect, namespaces)).items():
        if q.refuses:
            out[ns] = runs_room(ns, q, await count_usage(conn, ns, q, now=now))
    return out


async def check_new_job(conn: AsyncConnection, dialect: str, namespace: str) -> None:
    q = (await lock_quotas(conn, dialect, [namespace])).get(namespace)
    if q is not None and q.max_jobs is not None:
        jobs = await _count(conn, [J.namespace == namespace, ~J.one_off], t.jobs, q.max_jobs)
        check_room(namespace, q, Usage(jobs=jobs), new_jobs=1)


async def sync_job_rate(conn: AsyncConnection, job: Job) -> None:
    """The job's rate limit row as its spec says (a changed limit starts a new window)."""
    key = job_rate_key(job.id)
    limit = job.spec.rate_limit
    old = (await conn.execute(sa.select(L.max, L.per).where(L.key == key))).first()
    if limit is None:
        if old is not None:
            await conn.execute(sa.delete(t.rate_limits).where(L.key == key))
        return
    if old is not None and (old.max, old.per) == (limit.max, limit.per):
        return
    await conn.execute(sa.delete(t.rate_limits).where(L.key == key))
    await conn.execute(
        sa.insert(t.rate_limits).values(
            key=key,
            namespace=job.spec.namespace,
            job_id=job.id,
            tag=None,
            max=limit.max,
            per=limit.per,
            seconds=limit.seconds,
            starts=[],
        )
    )


def window_of(row: Any) -> RateWindow:
    return RateWindow(max=int(row.max), per=float(row.seconds), starts=list(row.starts or ()))


class QuotaRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, namespaces: Sequence[str]) -> dict[str, Quotas]:
        """The quotas of these namespaces (NO_QUOTAS for one without)."""
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.namespace_quotas).where(
                        one_of(Q.namespace, namespaces, self.db.dialect)
                    )
                )
            ).all()
            tags = await self._tag_limits(conn, namespaces)
        found = {r.namespace: _quotas(r, tags.get(r.namespace, {})) for r in rows}
        return {ns: found.get(ns, Quotas(tag_rate_limits=tags.get(ns, {}))) for ns in namespaces}

    async def _tag_limits(
        self, conn: AsyncConnection, namespaces: Sequence[str]
    ) -> dict[str, dict[str, RateLimit]]:
        stmt = sa.select(L.namespace, L.tag, L.max, L.per).where(
            one_of(L.namespace, namespaces, self.db.dialect), L.tag.is_not(None)
        )
        out: dict[str, dict[str, RateLimit]] = {}
        for r in await conn.execute(stmt):
            limit = rate_limit_of({"max": r.max, "per": r.per})
            assert limit is not None
            out.setdefault(r.namespace, {})[r.tag] = limit
        return out

    async def set(self, namespace: str, quotas: Quotas, *, now: datetime) -> None:
        """Replace a namespace's quotas and tag rate limits (a tag whose limit is unchanged
        keeps its window)."""
        values = {name: quotas.limit(name) for name in QUOTA_NAMES}
        async with self.db.write(now) as (conn, _events):
            await conn.execute(sa.delete(t.namespace_quotas).where(Q.namespace == namespace))
            await conn.execute(
                sa.insert(t.namespace_quotas).values(namespace=namespace, updated_at=now, **values)
            )
            kept = {
                r.tag: (r.max, r.per)
                for r in await conn.execute(
                    sa.select(L.tag, L.max, L.per).where(
                        L.namespace == namespace, L.tag.is_not(None)
                    )
                )
            }
            for tag, (mx, per) in kept.items():
                new = quotas.tag_rate_limits.get(tag)
                if new is None or (new.max, new.per) != (mx, per):
                    await conn.execute(
                        sa.delete(t.rate_limits).where(L.key == tag_rate_key(namespace, tag))
                    )
            for tag, limit in quotas.tag_rate_limits.items():
                if kept.get(tag) != (limit.max, limit.per):
                    await conn.execute(
                        sa.insert(t.rate_limits).values(
                            key=tag_rate_key(namespace, tag),
                            namespace=namespace,
                            job_id=None,
                            tag=tag,
                            max=limit.max,
                            per=limit.per,
                            seconds=limit.seconds,
                            starts=[],
                        )
                    )

    async def usage(
        self, namespaces: Sequence[str], quotas: Mapping[str, Quotas], *, now: datetime
    ) -> dict[str, Usage]:
        """Each namespace's exact use of the quotas it has (the others read 0): a read for
        people, not the hot path."""
        out: dict[str, Usage] = {}
        async with self.db.read() as conn:
            for ns in namespaces:
                q = quotas.get(ns, NO_QUOTAS)
                out[ns] = await count_usage(conn, ns, q, now=now, exact=True)
        return out

    async def output_over(self, *, now: datetime, limit: int) -> int:
        """For each namespace with a ``max_output_bytes`` quota and more output kept than it:
        clear the output of its oldest finished attempts (a batch of at most ``limit``) until
        it is under; the attempts cleared. Each such namespace's kept output is summed once a
        round (a read over its attempts)."""
        async with self.db.read() as conn:
            capped = (
                await conn.execute(
                    sa.select(Q.namespace, Q.max_output_bytes).where(
                        Q.max_output_bytes.is_not(None)
                    )
                )
            ).all()
            over = []
            for ns, cap in capped:
                kept = await _output_bytes(conn, ns)
                if kept > cap:
                    over.append((ns, kept - cap))
        cleared = 0
        for ns, excess in over:
            cleared += await self._clear_oldest(ns, excess, now=now, limit=limit)
        return cleared

    async def _clear_oldest(self, namespace: str, excess: int, *, now: datetime, limit: int) -> int:
        size = sa.func.length(A.stdout) + sa.func.length(A.stderr)
        chosen = (
            sa.select(A.run_id, A.number, size)
            .select_from(t.attempts.join(t.runs, R.id == A.run_id))
            .where(
                R.namespace == namespace,
                R.status.in_(sorted(TERMINAL)),
                sa.not_(A.output_pruned),
            )
            .order_by(A.started_at)
            .limit(limit)
        )
        async with self.db.write(now) as (conn, _events):
            keys = []
            for run_id, number, n in await conn.execute(chosen):
                if excess <= 0:
                    break
                keys.append((run_id, number))
                excess -= int(n or 0)
            if keys:
                await conn.execute(
                    sa.update(t.attempts)
                    .where(sa.tuple_(A.run_id, A.number).in_(keys))
                    .values(stdout="", stderr="", output_pruned=True)
                )
        return len(keys)

    async def windows(self, job_id: str, namespace: str) -> dict[str, RateWindow]:
        """The rate windows a run of this job starts under: the job's and its tags'."""
        tags = sa.select(t.job_tags.c.tag).where(t.job_tags.c.job_id == job_id)
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(L.key, L.max, L.seconds, L.starts).where(
                        sa.or_(
                            L.job_id == job_id,
                            sa.and_(L.namespace == namespace, L.tag.in_(tags)),
                        )
                    )
                )
            ).all()
        return {r.key: window_of(r) for r in rows}
