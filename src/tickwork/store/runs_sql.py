"""Runs: creation by trigger and in bulk, reads, cancel, and retry (a new attempt series)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.auth import forbidden
from tickwork.domain.errors import Conflict, NotFound, TickworkError, ValidationError
from tickwork.domain.jobs import check_stored_trigger_parameters
from tickwork.domain.newruns import JobRef, QueuedRun
from tickwork.domain.overlap import Skip, Supersede, decide_overlap, needs_active
from tickwork.domain.queries import NewRun, RunFilter, Total, TriggerRequest
from tickwork.domain.quotas import QuotaExceeded
from tickwork.domain.records import AuditNote, Triggered
from tickwork.domain.runs import ACTIVE, Attempt, Run, can_transition
from tickwork.store import tables as t
from tickwork.store.counting import count_matching
from tickwork.store.database import Database, run_select
from tickwork.store.dialect import one_of
from tickwork.store.finish_hooks import after_finish
from tickwork.store.jobs_sql import decode_cursor, encode_cursor, namespace_where
from tickwork.store.locking import key_share, lock_jobs, lock_jobs_of_runs, lock_runs
from tickwork.store.pipeline_flow import lock_pipeline_runs_of
from tickwork.store.quotas_sql import check_new_runs, runs_rooms
from tickwork.store.rows import attempt_from_row, job_ref, run_from_row
from tickwork.store.run_writes import (
    CANCELLED,
    STOPPED_RUN,
    active_runs,
    cancelled_ends,
    insert_runs,
    new_runs,
    requeue_runs,
    stop_runs,
    supersede,
)
from tickwork.store.tokens_sql import write_audit

R = t.runs.c
A = t.attempts.c
J = t.jobs.c
JOB_REF = (J.id, J.name, J.route, J.priority, J.spec)


class RunRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- new runs ---------------------------------------------------------------------------

    async def trigger(
        self, new: NewRun, *, now: datetime, audit: AuditNote | None = None
    ) -> Triggered:
        """Create a run honouring the idempotency key and the job's on_overlap; the audit
        entry, if any, is written in the same transaction."""
        async with self.db.write(now) as (conn, events):
            if audit is not None:
                await write_audit(conn, self.db.dialect, [audit], now=now)
            # the job is locked only when the decision reads its active runs (skip,
            # cancel_previous): triggers of an allow/queue job run side by side, the new
            # run's reference to the job taking the key-share lock any insert takes
            row = (await conn.execute(sa.select(*JOB_REF).where(t.jobs.c.id == new.job_id))).first()
            if row is not None and needs_active(job_ref(row).on_overlap):
                [row] = await lock_jobs(conn, self.db.dialect, [new.job_id], columns=JOB_REF) or [
                    None
                ]
            if row is None:
                raise NotFound(f"no job '{new.job_id}'")
            if new.idempotency_key:
                found = await _run_by_key(conn, new.job_id, new.idempotency_key)
                if found:
                    return Triggered(found[0], found[1], False)
            job = job_ref(row)
            stopping: list[tuple[str, str]] = []
            active = None
            if needs_active(job.on_overlap):
                active = (await active_runs(conn, self.db.dialect, [job.id], now)).get(job.id)
            decision = decide_overlap(job.on_overlap, active)
            if isinstance(decision, Skip):
                return Triggered(decision.active, await _status(conn, decision.active), False)
            await check_new_runs(conn, self.db.dialect, {job.namespace: 1}, now=now)
            if isinstance(decision, Supersede):
                stopping = await supersede(conn, self.db.dialect, events, [job.id], now)
            [(run_id, created)] = await insert_runs(
                conn, self.db.dialect, events, new_runs(job, [new], now), {job.id: job.name}
            )
            status = "queued" if created else await _status(conn, run_id)
        return Triggered(run_id, status, created, stopping)

    async def trigger_many(
        self, requests: Sequence[TriggerRequest], *, now: datetime
    ) -> list[Triggered | TickworkError | None]:
        """Manual triggers, many in one transaction (a coordinator's concurrent triggers,
        grouped): for each request its answer, an error of its own (no such job, parameters
        refused) or None where its job's on_overlap reads the job's active runs (skip,
        cancel_previous: those go through ``trigger``, one at a time under the job's lock).
        The audit entries of the runs made or found are written with them.

        The jobs are read with a key-share lock (by id, the lock order), as the runs'
        references to them would take: a job deleted meanwhile waits, it cannot vanish
        between this read and the insert."""
        out: list[Triggered | TickworkError | None] = [None] * len(requests)
        dialect = self.db.dialect
        async with self.db.write(now) as (conn, events):
            by_id, by_name = await _jobs_by_ref(
                conn, dialect, {(r.namespace, r.ref) for r in requests}
            )
            jobs: dict[str, JobRef] = {}
            queued: list[tuple[int, QueuedRun]] = []
            spaces = {job_ref(row).namespace for row in by_id.values()}
            rooms = await runs_rooms(conn, dialect, spaces, now=now)
            for i, req in enumerate(requests):
                by_ref = req.ref.startswith("job-")
                row = by_id.get(req.ref) if by_ref else by_name.get((req.namespace, req.ref))
                if row is None:
                    where = "" if by_ref else f" in namespace '{req.namespace}'"
                    out[i] = NotFound(f"no job with id or name '{req.ref}'{where}")
                    continue
                job = jobs.setdefault(row.id, job_ref(row))
                if req.who is not None and not req.who.may("operate", job.namespace):
                    out[i] = forbidden(req.who, "operate", job.namespace)
                    continue
                if needs_active(job.on_overlap):
                    continue
                try:
                    check_stored_trigger_parameters(row.spec, req.parameters, field="parameters")
                except ValidationError as exc:
                    out[i] = exc
                    continue
                if not _admitted(rooms, job.namespace):
                    out[i] = rooms[job.namespace][1]
                    continue
                new = NewRun(
                    job_id=job.id,
                    trigger="manual",
                    parameters=dict(req.parameters),
                    idempotency_key=req.idempotency_key,
                )
                queued.extend((i, run) for run in new_runs(job, [new], now))
            names = {j: job.name for j, job in jobs.items()}
            made = await insert_runs(conn, dialect, events, [r for _, r in queued], names)
            notes = []
            for (i, _), (run_id, created) in zip(queued, made, strict=True):
                status = "queued" if created else await _status(conn, run_id)
                out[i] = Triggered(run_id, status, created)
                if (note := requests[i].audit) is not None:
                    notes.append(note)
            await write_audit(conn, dialect, notes, now=now)
        return out

    async def bulk(self, items: Sequence[NewRun], *, now: datetime) -> list[tuple[str, bool]]:
        """Enqueue many runs in one transaction (deduplicated by idempotency key); bulk runs
        always queue, whatever the job's on_overlap."""
        job_ids = sorted({i.job_id for i in items})
        async with self.db.write(now) as (conn, events):
            jobs = {
                r.id: job_ref(r)
                for r in await lock_jobs(conn, self.db.dialect, job_ids, columns=JOB_REF)
            }
            runs = [run for i in items for run in new_runs(jobs[i.job_id], [i], now)]
            wanted: dict[str, int] = {}
            for run in runs:
                wanted[run.namespace] = wanted.get(run.namespace, 0) + 1
            await check_new_runs(conn, self.db.dialect, wanted, now=now)
            return await insert_runs(
                conn, self.db.dialect, events, runs, {j: job.name for j, job in jobs.items()}
            )

    # --- reads ------------------------------------------------------------------------------

    async def get(self, run_id: str) -> Run | None:
        async with self.db.read() as conn:
            return await _run_on(conn, run_id)

    async def attempts(self, run_id: str) -> list[Attempt]:
        """Every attempt of a run, oldest first. The run's latest attempt, while running or
        once completed, is told by the run itself (with the output its own row holds, if
        it printed any)."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(t.runs).where(R.id == run_id))).first()
            stored = (
                await conn.execute(
                    sa.select(t.attempts).where(A.run_id == run_id).order_by(A.number)
                )
            ).all()
        out = {a.number: attempt_from_row(a) for a in stored}
        if (
            row is not None
            and row.started_at is not None
            and row.status in ("running", "completed")
        ):
            out[row.attempt] = _latest_attempt(row, out.get(row.attempt))
        return [out[n] for n in sorted(out)]

    async def page(
        self, flt: RunFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[Run], Total, str | None]:
        """Runs matching ``flt`` in its order (queued_at, started_at or duration; runs
        without the value last), with keyset pagination: the cursor holds the last run's
        (value missing, value, id)."""
        where = namespace_where(R.namespace, flt.namespaces)
        if flt.status:
            where.append(R.status == flt.status)
        if flt.job_id:
            where.append(R.job_id == flt.job_id)
        if flt.since:
            where.append(R.queued_at >= flt.since)
        if flt.until:
            where.append(R.queued_at < flt.until)
        col: sa.ColumnElement[Any] = R[flt.sort]
        parts = decode_cursor(cursor, 3) if cursor else None
        async with self.db.read() as conn:
            rows = await _page_rows(conn, col, flt, where, parts, limit + 1)
            total = await count_matching(conn, t.runs, where)
        runs = [run_from_row(x) for x in rows[:limit]]
        nxt = None
        if len(rows) > limit:
            last = rows[limit - 1]
            value = getattr(last, flt.sort)
            shown = "" if value is None else _cursor_value(value)
            nxt = encode_cursor("1" if value is None else "0", shown, last.id)
        return runs, total, nxt

    # --- changes -----------------------------------------------------------------------------

    async def cancel(
        self, run_id: str, *, by: str = "system", now: datetime
    ) -> tuple[str, str | None]:
        """Cancel a queued run at once, or ask the worker of a running one; (status, worker).
        ``by`` is who cancelled it (kept on the run as ``cancelled_by``).

        The job's row, then the run's, are locked first (the lock order): a claim committing
        meanwhile is waited for and seen, rather than the cancel reporting a run cancelled
        that its worker has just started.
        """
        async with self.db.write(now) as (conn, events):
            row = await self._lock_run_and_job(conn, run_id, *STOPPED_RUN, dependents=True)
            if row.status in ACTIVE:
                changed, stopping = await stop_runs(
                    conn, self.db.dialect, events, [row], by=by, error=CANCELLED, now=now
                )
                ended = cancelled_ends([row], changed)
                await after_finish(conn, self.db.dialect, events, ended, now)
                if row.status == "queued":
                    return "cancelled", None
                return "running", stopping[0][1] if stopping else None
        raise Conflict(
            f"run '{run_id}' is {row.status}; only queued or running runs can be cancelled"
        )

    async def _lock_run_and_job(
        self,
        conn: AsyncConnection,
        run_id: str,
        *columns: sa.ColumnElement[Any],
        dependents: bool = False,
    ) -> Any:
        """Lock the pipeline run it is a task of, a run's job (with ``dependents``, and the
        jobs that depend on it: ending the run may queue theirs), then the run (the lock
        order); the run's ``columns``."""
        job_id = (await conn.execute(sa.select(R.job_id).where(R.id == run_id))).scalar()
        if job_id is None:
            raise NotFound(f"no run '{run_id}'")
        await lock_pipeline_runs_of(conn, self.db.dialect, [run_id])
        if dependents:
            await lock_jobs_of_runs(conn, self.db.dialect, [run_id], dependents_of=[run_id])
        else:
            await lock_jobs(conn, self.db.dialect, [job_id], columns=(J.id,))
        rows = await lock_runs(conn, self.db.dialect, R.id == run_id, columns=columns)
        if not rows:  # deleted with its job meanwhile
            raise NotFound(f"no run '{run_id}'")
        return rows[0]

    async def requeue(self, run_id: str, *, trigger: str, now: datetime, resolution: str) -> Run:
        """Put a failed/cancelled/missed run back to queued for a new attempt series; the run
        as this transaction left it (a worker may claim it the moment it commits)."""
        async with self.db.write(now) as (conn, events):
            row = await self._lock_run_and_job(conn, run_id, R.id, R.status, R.job_id)
            if not can_transition(row.status, "queued") or row.status == "running":
                raise Conflict(
                    f"run '{run_id}' is {row.status}; only failed, cancelled or "
                    "missed runs can be retried"
                )
            requeued_ids, _ = await requeue_runs(
                conn,
                self.db.dialect,
                events,
                [row],
                trigger=trigger,
                resolution=resolution,
                now=now,
            )
            if not requeued_ids:
                raise Conflict(f"run '{run_id}' changed meanwhile; try again")
            run = await _run_on(conn, run_id)
        assert run is not None  # updated above, in this transaction
        return run


def _admitted(rooms: dict[str, tuple[int | None, QuotaExceeded]], namespace: str) -> bool:
    """Whether one more run of the namespace fits its quotas (counted off its room)."""
    room = rooms.get(namespace)
    if room is None or room[0] is None:
        return True
    if room[0] <= 0:
        return False
    rooms[namespace] = (room[0] - 1, room[1])
    return True


async def _page_rows(
    conn: AsyncConnection,
    col: sa.ColumnElement[Any],
    flt: RunFilter,
    where: list[sa.ColumnElement[bool]],
    parts: list[str] | None,
    n: int,
) -> list[Any]:
    """Up to ``n`` runs of the list after the cursor ``parts``. By ``queued_at`` (never
    missing) one read on its index. By ``started_at`` or ``duration``: the runs with the
    value in its order, read on its partial index (``ix_runs_started_at``,
    ``ix_runs_duration``), then, once they run out, the runs without it, by id (not started
    or not finished: the end of the list, read apart and rarely)."""
    ids = R.id.desc() if flt.descending else R.id.asc()
    order = col.desc() if flt.descending else col.asc()
    if col is R.queued_at:
        page = run_select().where(*where).order_by(order, ids).limit(n)
        if parts:
            page = page.where(_after(col, flt, parts))
        return list((await conn.execute(page)).all())
    rows: list[Any] = []
    if not parts or parts[0] != "1":
        page = run_select().where(*where, col.is_not(None)).order_by(order, ids).limit(n)
        if parts:
            page = page.where(_after(col, flt, parts))
        rows = list((await conn.execute(page)).all())
    if len(rows) < n:
        rest = run_select().where(*where, col.is_(None)).order_by(ids).limit(n - len(rows))
        if parts and parts[0] == "1":
            rest = rest.where(R.id < parts[2] if flt.descending else R.id > parts[2])
        rows += (await conn.execute(rest)).all()
    return rows


def _cursor_value(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(float(value))


def _after(col: sa.ColumnElement[Any], flt: RunFilter, parts: list[str]) -> Any:
    """The runs with the value after the cursor's run (one with the value) in the list's
    order."""
    _, shown, last_id = parts
    later_id = R.id < last_id if flt.descending else R.id > last_id
    value: Any = datetime.fromisoformat(shown) if flt.sort != "duration" else float(shown)
    beyond = col < value if flt.descending else col > value
    return sa.or_(beyond, sa.and_(col == value, later_id))


async def _run_by_key(conn: AsyncConnection, job_id: str, key: str) -> tuple[str, str] | None:
    row = (
        await conn.execute(
            sa.select(R.id, R.status).where(R.job_id == job_id, R.idempotency_key == key)
        )
    ).first()
    return (row.id, row.status) if row else None


async def _jobs_by_ref(
    conn: AsyncConnection, dialect: str, refs: set[tuple[str, str]]
) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
    """The jobs these (namespace, ref) pairs name: a ref starting with ``job-`` is an id
    (whatever the namespace), else a name in the namespace; by id and by (namespace, name),
    key-share locked in id order. The namespace is read from the stored spec."""
    ids = sorted({r for _, r in refs if r.startswith("job-")})
    names = sorted({r for _, r in refs if not r.startswith("job-")})
    which: list[sa.ColumnElement[bool]] = []
    if ids:
        which.append(one_of(J.id, ids, dialect))
    if names:
        which.append(one_of(J.name, names, dialect))
    stmt = sa.select(*JOB_REF).where(sa.or_(*which), ~J.one_off).order_by(J.id)
    rows = (await conn.execute(key_share(stmt, dialect))).all()
    by_id = {row.id: row for row in rows}
    by_name = {(job_ref(row).namespace, row.name): row for row in rows}
    return by_id, by_name


async def _status(conn: AsyncConnection, run_id: str) -> str:
    return str((await conn.execute(sa.select(R.status).where(R.id == run_id))).scalar_one())


async def _run_on(conn: AsyncConnection, run_id: str) -> Run | None:
    row = (await conn.execute(run_select().where(R.id == run_id))).first()
    if row is None:
        return None
    out = (
        await conn.execute(sa.select(A.stdout).where(A.run_id == run_id, A.number == row.attempt))
    ).scalar_one_or_none()
    return run_from_row(row, output=out or "")


def _latest_attempt(run: Any, stored: Attempt | None) -> Attempt:
    """The run's latest attempt as the run row tells it, with the output its row holds."""
    base = stored or Attempt(
        run_id=run.id,
        number=run.attempt,
        worker_id=run.worker_id,
        fence=run.fence,
        status="running",
        started_at=run.started_at,
    )
    return Attempt(
        run_id=run.id,
        number=run.attempt,
        worker_id=run.worker_id,
        fence=run.fence,
        status="running" if run.status == "running" else "completed",
        started_at=run.started_at or base.started_at,
        finished_at=run.finished_at if run.status == "completed" else None,
        exit_code=run.exit_code if run.status == "completed" else None,
        error=None,
        stdout=base.stdout,
        stderr=base.stderr,
        stdout_truncated=base.stdout_truncated,
        stderr_truncated=base.stderr_truncated,
        stdout_chunks=base.stdout_chunks,
        stderr_chunks=base.stderr_chunks,
        output_pruned=base.output_pruned,
    )
