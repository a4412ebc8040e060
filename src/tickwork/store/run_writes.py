"""Writes on runs that several store classes share: plain functions on an open transaction.

Queuing new runs (triggers, bulk, ticks, dependencies), superseding active ones
(``cancel_previous``), handing unstarted claims back, and settling finished attempts (worker
reports and the reaper's expired leases). The policies they apply live in ``domain/``; these
functions only read what the policy needs and write what it decided. Callers hold the locks
the lock order asks for (store/locking.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain import ids
from tickwork.domain.newruns import JobRef, QueuedRun, queued_run
from tickwork.domain.outcomes import Settlement, settle
from tickwork.domain.queries import NewRun
from tickwork.domain.records import Finished, ReportResult
from tickwork.domain.retry import RetryPolicy
from tickwork.domain.runs import ACTIVE, Completion
from tickwork.domain.summary import STDERR_TAIL, error_summary
from tickwork.store import tables as t
from tickwork.store.database import Outbox
from tickwork.store.dialect import insert_new, one_of, pair_in, update_many, upsert_many
from tickwork.store.locking import lock_runs
from tickwork.store.rows import attempt_state, queued_run_row

R = t.runs.c
A = t.attempts.c
STALE = "stale_fence"


# --- new runs ------------------------------------------------------------------------


async def insert_runs(
    conn: AsyncConnection,
    dialect: str,
    events: Outbox,
    runs: Sequence[QueuedRun],
    job_names: Mapping[str, str],
) -> list[tuple[str, bool]]:
    """Insert with ON CONFLICT DO NOTHING; (run id, created) in input order, the existing
    run's id where a key or tick was taken already."""
    if not runs:
        return []
    created = await insert_new(
        conn, t.runs, [queued_run_row(r) for r in runs], key="id", dialect_name=dialect
    )
    out: list[tuple[str, bool]] = []
    for r in runs:
        if r.id in created:
            out.append((r.id, True))
            data: dict[str, Any] = {
                "status": "queued",
                "trigger": r.trigger,
                "job_name": job_names.get(r.job_id, ""),
                "attempt": 0,
            }
            if r.not_before is not None:  # written ahead: claimable from its fire time
                data["not_before"] = r.not_before.isoformat()
            events.add("run.queued", job_id=r.job_id, run_id=r.id, data=data)
        else:
            out.append((await _existing_run_id(conn, r), False))
    return out


async def _existing_run_id(conn: AsyncConnection, run: QueuedRun) -> str:
    cond = (R.job_id == run.job_id) & (R.idempotency_key == run.idempotency_key)
    if run.trigger == "schedule":
        cond = cond | (
            (R.job_id == run.job_id)
            & (R.scheduled_for == run.scheduled_for)
            & (R.trigger == "schedule")
        )
    return str((await conn.execute(sa.select(R.id).where(cond).limit(1))).scalar_one())


def not_waiting(now: datetime, runs: sa.FromClause = t.runs) -> sa.ColumnElement[bool]:
    """Not a run written ahead of its tick and still waiting for it: such a run is no active
    run of its job yet (for overlap decisions, quotas and counts), nor its latest run (for
    its status and retention), only from its fire time. ``runs``: the table or an alias."""
    c = runs.c
    return sa.or_(c.ahead.is_(None), c.not_before.is_(None), c.not_before <= now)


TICK_DECIDED = ("skip", "cancel_previous")
"""``runs.ahead`` of the runs written ahead whose overlap is decided at their fire time
(domain/overlap.py ``decided_at_tick``)."""

_EARLY = t.runs.alias("o")
EARLIER: sa.ColumnElement[bool] = (
    sa.select(sa.literal(1))
    .where(
        _EARLY.c.job_id == R.job_id,
        _EARLY.c.status.in_(ACTIVE),
        _EARLY.c.id != R.id,
        sa.or_(
            _EARLY.c.ahead.is_(None),
            _EARLY.c.not_before < R.not_before,
            sa.and_(_EARLY.c.not_before == R.not_before, _EARLY.c.id < R.id),
        ),
    )
    .exists()
)
"""A run of the run's job active before it: running, queued, or written ahead for an
earlier fire time (a run written ahead counts from its fire time: domain/overlap.py
``at_tick``). A ``skip`` or ``cancel_previous`` run written ahead waits while one exists."""


async def withdraw_ahead(
    conn: AsyncConnection,
    dialect: str,
    events: Outbox,
    job_ids: Sequence[str],
    now: datetime,
    *,
    reason: str,
) -> dict[str, datetime]:
    """Remove these jobs' runs written ahead whose fire time has not come (a job changed,
    paused or moved by its calendar: no worker ever sees them), each with a
    ``run.withdrawn`` event; the earliest fire time withdrawn of each job, from which its
    ticks are to be written again. The caller holds the jobs' locks (or the write lock)."""
    if not job_ids:
        return {}
    gone = (
        await conn.execute(
            sa.delete(t.runs)
            .where(
                one_of(R.job_id, sorted(set(job_ids)), dialect),
                R.status == "queued",
                R.ahead.is_not(None),
                R.not_before > now,
            )
            .returning(R.id, R.job_id, R.scheduled_for, R.not_before)
        )
    ).all()
    earliest: dict[str, datetime] = {}
    for r in gone:
        if r.job_id not in earliest or r.not_before < earliest[r.job_id]:
            earliest[r.job_id] = r.not_before
        events.add(
            "run.withdrawn",
            job_id=r.job_id,
            run_id=r.id,
            data={
                "status": "withdrawn",
                "scheduled_for": r.scheduled_for.isoformat() if r.scheduled_for else None,
                "reason": reason,
            },
        )
    return earliest


async def active_runs(
    conn: AsyncConnection, dialect: str, job_ids: Sequence[str], now: datetime
) -> dict[str, str]:
    """Each job's oldest queued or running run: one row per job from the database (the
    active-runs index), not every active run (a job may have thousands queued). A run
    written ahead counts from its fire time."""
    if not job_ids:
        return {}
    ranked = (
        sa.select(
            R.job_id,
            R.id,
            sa.func.row_number()
            .over(partition_by=R.job_id, order_by=(R.queued_at, R.id))
            .label("n"),
        )
        .where(one_of(R.job_id, job_ids, dialect), R.status.in_(ACTIVE), not_waiting(now))
        .subquery()
    )
    stmt = sa.select(ranked.c.job_id, ranked.c.id).where(ranked.c.n == 1)
    return {row.job_id: row.id for row in (await conn.execute(stmt)).all()}


async def supersede(
    conn: AsyncConnection, dialect: str, events: Outbox, job_ids: Sequence[str], now: datetime
) -> list[tuple[str, str]]:
    """on_overlap=cancel_previous: cancel these jobs' queued runs and ask their running
    ones to stop; (run id, worker id) of the running ones, whose workers must be told.
    The caller holds the jobs' locks; the runs are locked here, by id, in one statement.
    Runs written ahead of a later tick are left waiting for it."""
    if not job_ids:
        return []
    active = await lock_runs(
        conn,
        dialect,
        one_of(R.job_id, job_ids, dialect),
        R.status.in_(ACTIVE),
        not_waiting(now),
        R.pipeline_run_id.is_(None),  # a pipeline's task runs are its own to stop
        columns=STOPPED_RUN,
    )
    _, stopping = await stop_runs(
        conn, dialect, events, active, by="cancel_previous", error="cancelled: superseded", now=now
    )
    return stopping


CANCELLED = "cancelled by request"
"""The error of a run cancelled while queued (by a single or a bulk cancel)."""

STOPPED_RUN = (R.id, R.job_id, R.status, R.worker_id)
"""The columns ``stop_runs`` needs of each run it is given."""

UPDATE_CHUNK = 500
"""Ids per statement on SQLite (bound parameters are limited there; PostgreSQL takes one
array parameter whatever the count)."""


def chunks(ids: Sequence[str], dialect: str) -> list[Sequence[str]]:
    """``ids`` in pieces small enough for one statement on this dialect."""
    if dialect == "postgresql" or len(ids) <= UPDATE_CHUNK:
        return [ids] if ids else []
    return [ids[i : i + UPDATE_CHUNK] for i in range(0, len(ids), UPDATE_CHUNK)]


async def stop_runs(
    conn: AsyncConnection,
    dialect: str,
    events: Outbox,
    active: Sequence[Any],
    *,
    by: str,
    error: str,
    now: datetime,
) -> tuple[list[str], list[tuple[str, str]]]:
    """Cancel the queued ones of these runs (locked by the caller, ``STOPPED_RUN`` columns)
    at once and ask the running ones to stop, recording who did (``by``); (the ids of
    the runs cancelled or asked to stop, (run id, worker id) of the running ones, whose
    workers must be told). Every update is conditional on the status the run was read in."""
    reason = {"reason": by} if by == "cancel_previous" else {}
    changed: list[str] = []
    for status, values, kind in (
        ("queued", {"status": "cancelled", "finished_at": now, "error": error}, "run.cancelled"),
        ("running", {"cancel_requested": True}, "run.cancelling"),
    ):
        for part in chunks([a.id for a in active if a.status == status], dialect):
            done = await conn.execute(
                sa.update(t.runs)
                .where(one_of(R.id, part, dialect), R.status == status)
                .values(cancelled_by=by, **values)
                .returning(R.id, R.job_id)
            )
            for r in done.all():
                changed.append(r.id)
                data = {"status": values.get("status", status), "cancelled_by": by, **reason}
                events.add(kind, job_id=r.job_id, run_id=r.id, data=data)
    asked = set(changed)
    running = [(a.id, a.worker_id) for a in active if a.status == "running" and a.worker_id]
    return changed, [(run_id, worker) for run_id, worker in running if run_id in asked]


def cancelled_ends(active: Sequence[Any], changed: Sequence[str]) -> list[Finished]:
    """The queued runs of ``active`` (``STOPPED_RUN`` columns) that ``stop_runs`` cancelled:
    ended at once (a running one ends when its worker reports)."""
    done = set(changed)
    return [
        Finished(a.job_id, a.id, "cancelled")
        for a in active
        if a.status == "queued" and a.id in done
    ]


def requeued(now: datetime) -> dict[str, Any]:
    """The columns of a run put back to queued for a new attempt series (retry, replay):
    as many attempts again as it has had, nothing left of the last series."""
    return {
        "status": "queued",
        "max_attempts": R.max_attempts + R.attempt,
        "not_before": None,
        "ahead": None,
        "queued_at": now,
        "finished_at": None,
        "error": None,
        "error_summary": None,
        "cancelled_by": None,
        "exit_code": None,
        "result": None,
        "worker_id": None,
        "cancel_requested": False,
        "deadline_at": None,
        "duration": None,
    }


async def requeue_runs(
    conn: AsyncConnection,
    dialect: str,
    events: Outbox,
    held: Sequence[Any],
    *,
    trigger: str,
    resolution: str,
    note: str | None = None,
    now: datetime,
) -> tuple[list[str], list[str]]:
    """Put these runs (locked by the caller: id, job_id, status) back to queued, each on
    the condition it still has the status it was read in, and resolve their open dead
    letters as ``resolution``; (the runs requeued, the dead letters resolved)."""
    runs: list[str] = []
    letters: list[str] = []
    for status in sorted({h.status for h in held}):
        for part in chunks([h.id for h in held if h.status == status], dialect):
            done = await conn.execute(
                sa.update(t.runs)
                .where(one_of(R.id, part, dialect), R.status == status)
                .values(requeued(now))
                .returning(R.id, R.job_id, R.attempt)
            )
            rows = done.all()
            runs += [r.id for r in rows]
            letters += await _resolve_letters(
                conn, dialect, [r.id for r in rows], resolution, note, now
            )
            for r in rows:
                events.add(
                    "run.queued",
                    job_id=r.job_id,
                    run_id=r.id,
                    data={"status": "queued", "trigger": trigger, "attempt": r.attempt},
                )
    return runs, letters


async def _resolve_letters(
    conn: AsyncConnection,
    dialect: str,
    run_ids: Sequence[str],
    resolution: str,
    note: str | None,
    now: datetime,
) -> list[str]:
    if not run_ids:
        return []
    letters = t.dead_letters
    done = await conn.execute(
        sa.update(letters)
        .where(one_of(letters.c.run_id, run_ids, dialect), letters.c.resolved_at.is_(None))
        .values(resolved_at=now, resolution=resolution, note=note)
        .returning(letters.c.id)
    )
    return list(done.scalars())


async def unclaim(
    conn: AsyncConnection,
    dialect: str,
    events: Outbox,
    which: sa.ColumnElement[bool],
    *,
    reason: str,
    skip_locked: bool = False,
    limit: int | None = None,
) -> list[Any]:
    """Claimed runs whose start was never confirmed go back to the queue (no attempt counted)."""
    unstarted = (which, R.status == "running", R.started_at.is_(None))
    held = await lock_runs(conn, dialect, *unstarted, skip_locked=skip_locked, limit=limit)
    if not held:
        return []
    rows = (
        await conn.execute(
            sa.update(t.runs)
            .where(one_of(R.id, [r.id for r in held], dialect), *unstarted)
            .values(status="queued", worker_id=None, lease_expires_at=None, ack_deadline=None)
            .returning(R.id, R.job_id)
        )
    ).all()
    for r in rows:
        events.add(
            "run.queued", job_id=r.job_id, run_id=r.id, data={"status": "queued", "reason": reason}
        )
    return list(rows)


# --- finished attempts ---------------------------------------------------------------

LOCKED_RUN = (
    R.id,
    R.job_id,
    R.fence,
    R.status,
    R.attempt,
    R.max_attempts,
    R.started_at,
    R.claimed_at,
    R.worker_id,
    R.cancel_requested,
    R.cancelled_by,
    R.pipeline_run_id,
)


async def locked_runs(
    conn: AsyncConnection, dialect: str, run_ids: Sequence[str]
) -> dict[str, Any]:
    """The runs a report or the reaper settles, with their job's name, row-locked by id (the
    caller locked any job it will write first: the lock order)."""
    if not run_ids:
        return {}
    stmt: sa.Select[Any] = (
        sa.select(*LOCKED_RUN, t.jobs.c.name.label("job_name"), t.jobs.c.type.label("job_type"))
        .select_from(t.runs.join(t.jobs, t.jobs.c.id == R.job_id))
        .where(one_of(R.id, sorted(set(run_ids)), dialect))
        .order_by(R.id)
    )
    if dialect == "postgresql":
        stmt = stmt.with_for_update(of=t.runs, key_share=True)
    return {r.id: r for r in (await conn.execute(stmt)).all()}


async def complete_runs(
    conn: AsyncConnection,
    dialect: str,
    events: Outbox,
    items: Sequence[Completion],
    rows: dict[str, Any],
    now: datetime,
) -> tuple[dict[tuple[str, int], ReportResult], list[Finished]]:
    """Settle what ``items`` report, for the ``rows`` (locked by ``locked_runs``): each
    owned attempt ends as the domain decides; any other is an identical repeat of a
    recorded outcome (answered as such) or stale. Also the runs that reached a final state
    (an attempt to be retried ends none), for the caller's ``after_finish``."""
    mine: list[tuple[Completion, Any]] = []
    others: list[Completion] = []
    for c in items:
        row = rows.get(c.run_id)
        owns = row is not None and row.fence == c.fence and row.status == "running"
        if owns:
            mine.append((c, row))
        else:
            others.append(c)
    out = await _repeated_completions(conn, dialect, others, rows)
    settled, ended = await _settle_many(conn, dialect, events, mine, now)
    out.update(settled)
    return out, ended


Plan = tuple[Completion, Any, Settlement]
"""A completion, its run's locked row, and how the domain settles it."""


async def _settle_many(
    conn: AsyncConnection,
    dialect: str,
    events: Outbox,
    finished: list[tuple[Completion, Any]],
    now: datetime,
) -> tuple[dict[tuple[str, int], ReportResult], list[Finished]]:
    if not finished:
        return {}, []
    policies = await _policies(
        conn, dialect, [r.job_id for c, r in finished if c.outcome != "completed"]
    )
    plans = [
        (c, row, settle(c, attempt_state(row), policies.get(row.job_id, _DEFAULT), now=now))
        for c, row in finished
    ]
    why = await _summaries(conn, dialect, plans)
    await update_many(
        conn,
        t.runs,
        keys=["id", "fence"],
        values=FINISH_COLUMNS,
        rows=finish_rows(plans, why),
        where=FINISH_WHERE,
        dialect_name=dialect,
    )
    await _record_apart(
        conn, dialect, [(c, row, s) for c, row, s in plans if s.recorded_apart], why
    )
    await _dead_letters(
        conn, [(c, row, s) for c, row, s in plans if s.decision.dead_letter], why, now
    )
    settled_events(events, plans, why)
    ended = [
        Finished(row.job_id, row.id, s.decision.status, why.get(row.id), _cancelled_by(row, s))
        for _, row, s in plans
        if s.decision.status != "queued"
    ]
    return answers(plans), ended


def completed_plans(finished: Sequence[tuple[Completion, Any]], now: datetime) -> list[Plan]:
    """How attempts that completed settle their runs (no retry policy, summary or extra
    row needed: the happy path)."""
    return [(c, row, settle(c, attempt_state(row), _DEFAULT, now=now)) for c, row in finished]


def finish_rows(plans: Sequence[Plan], why: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """The ``FINISH_COLUMNS`` of each settled run, keyed by id and fence."""
    return [_finish_row(c, row, s, why.get(c.run_id)) for c, row, s in plans]


def settled_events(events: Outbox, plans: Sequence[Plan], why: Mapping[str, str | None]) -> None:
    for c, row, s in plans:
        _completion_event(events, c, row, s, why.get(c.run_id))


def answers(plans: Sequence[Plan]) -> dict[tuple[str, int], ReportResult]:
    return {
        (c.run_id, c.fence): ReportResult(
            c.run_id,
            True,
            s.decision.status,
            job_name=row.job_name,
            duration=s.duration,
            outcome=s.outcome,
            job_id=row.job_id,
            not_before=s.decision.not_before,
        )
        for c, row, s in plans
    }


_DEFAULT = RetryPolicy()


async def _policies(
    conn: AsyncConnection, dialect: str, job_ids: Sequence[str]
) -> dict[str, RetryPolicy]:
    """Retry policies of the jobs whose attempts did not complete (the happy path reads none)."""
    if not job_ids:
        return {}
    stmt = sa.select(t.jobs.c.id, t.jobs.c.spec).where(one_of(t.jobs.c.id, set(job_ids), dialect))
    return {r.id: RetryPolicy.of(r.spec) for r in (await conn.execute(stmt)).all()}


async def _summaries(
    conn: AsyncConnection, dialect: str, plans: list[tuple[Completion, Any, Settlement]]
) -> dict[str, str | None]:
    """Each finishing attempt's error summary (domain/summary.py), by run id. Only a shell
    attempt that failed reads anything more: the end of its stored (masked) stderr."""
    shell = [
        (c.run_id, s.attempt)
        for c, row, s in plans
        if row.job_type == "shell" and s.outcome == "failed"
    ]
    stderr: dict[str, str] = {}
    if shell:
        size = sa.func.length(A.stderr)
        tail = sa.case(
            (size > STDERR_TAIL, sa.func.substr(A.stderr, size - STDERR_TAIL + 1)),
            else_=A.stderr,
        )
        found = await conn.execute(
            sa.select(A.run_id, tail.label("tail")).where(
                pair_in(A.run_id, A.number, shell, dialect)
            )
        )
        stderr = {r.run_id: r.tail for r in found.all()}
    return {
        c.run_id: error_summary(
            job_type=row.job_type,
            outcome=s.outcome,
            error=c.error,
            exit_code=c.exit_code,
            stderr=stderr.get(c.run_id, ""),
            result=c.result,
        )
        for c, row, s in plans
    }


FINISH_WHERE = "t.status = 'running'"
"""A finish writes only a run still running (its fence is matched too)."""

FINISH_COLUMNS = [
    "status",
    "attempt",
    "started_at",
    "not_before",
    "lease_expires_at",
    "ack_deadline",
    "worker_id",
    "exit_code",
    "result",
    "error",
    "error_summary",
    "duration",
    "finished_at",
    "cancel_requested",
    "cancelled_by",
]


def _finish_row(c: Completion, row: Any, s: Settlement, summary: str | None) -> dict[str, Any]:
    terminal = s.decision.status != "queued"
    return {
        "id": c.run_id,
        "fence": c.fence,
        "status": s.decision.status,
        "attempt": s.attempt,
        "started_at": s.started_at,
        "not_before": s.decision.not_before,
        "lease_expires_at": None,
        "ack_deadline": None,
        "worker_id": row.worker_id if terminal else None,
        "exit_code": c.exit_code,
        "result": c.result,
        "error": s.error(c.error),
        "error_summary": summary,
        "duration": s.duration,
        "finished_at": s.finished_at if terminal else None,
        "cancel_requested": False,
        "cancelled_by": _cancelled_by(row, s),
    }


def _cancelled_by(row: Any, s: Settlement) -> str | None:
    """Who cancelled a run that ends cancelled: whoever asked, else tickwork itself."""
    return (row.cancelled_by or "system") if s.decision.status == "cancelled" else None


ATTEMPT_RECORD = [
    "worker_id",
    "fence",
    "status",
    "started_at",
    "finished_at",
    "exit_code",
    "error",
    "error_summary",
]


async def _record_apart(
    conn: AsyncConnection,
    dialect: str,
    plans: list[tuple[Completion, Any, Settlement]],
    why: Mapping[str, str | None],
) -> None:
    """Attempts that did not complete keep a row of their own (with the output it may hold)."""
    await upsert_many(
        conn,
        t.attempts,
        [
            {
                "run_id": c.run_id,
                "number": s.attempt,
                "worker_id": row.worker_id,
                "fence": c.fence,
                "status": s.outcome,
                "started_at": s.started_at,
                "finished_at": s.finished_at,
                "exit_code": c.exit_code,
                "error": c.error,
                "error_summary": why[c.run_id],
            }
            for c, row, s in plans
        ],
        keys=["run_id", "number"],
        update=ATTEMPT_RECORD,
        dialect_name=dialect,
    )


async def _dead_letters(
    conn: AsyncConnection,
    plans: list[tuple[Completion, Any, Settlement]],
    why: Mapping[str, str | None],
    now: datetime,
) -> None:
    if plans:
        await conn.execute(
            sa.insert(t.dead_letters),
            [
                {
                    "id": ids.dead_letter_id(),
                    "run_id": row.id,
                    "job_id": row.job_id,
                    "error": s.error(c.error),
                    "error_summary": why[c.run_id],
                    "attempts": s.attempt,
                    "created_at": now,
                }
                for c, row, s in plans
            ],
        )


def _completion_event(
    events: Outbox, c: Completion, row: Any, s: Settlement, summary: str | None
) -> None:
    d = s.decision
    kind = "run.retrying" if d.status == "queued" else f"run.{d.status}"
    events.add(
        kind,
        job_id=row.job_id,
        run_id=row.id,
        data={
            "status": d.status,
            "job_name": row.job_name,
            "attempt": s.attempt,
            "outcome": s.outcome,
            "error": s.error(c.error),
            "error_summary": summary,
            "exit_code": c.exit_code,
            "duration": s.duration,
            "not_before": d.not_before.isoformat() if d.not_before else None,
        },
    )


async def _repeated_completions(
    conn: AsyncConnection, dialect: str, items: list[Completion], rows: dict[str, Any]
) -> dict[tuple[str, int], ReportResult]:
    """An identical repeat of a recorded outcome returns it; anything else is stale. An
    attempt's outcome is its own row's, or the run's when it completed as the run's last."""
    if not items:
        return {}
    recorded = {
        (a.run_id, a.fence): a.status
        for a in (
            await conn.execute(
                sa.select(A.run_id, A.fence, A.status).where(
                    pair_in(A.run_id, A.fence, [(c.run_id, c.fence) for c in items], dialect)
                )
            )
        ).all()
    }
    out: dict[tuple[str, int], ReportResult] = {}
    for c in items:
        row = rows.get(c.run_id)
        status = row.status if row is not None else None
        outcome = recorded.get((c.run_id, c.fence))
        if row is not None and row.fence == c.fence and status == "completed":
            outcome = "completed"  # the run's last attempt: the run row tells its outcome
        same = outcome == c.outcome
        out[(c.run_id, c.fence)] = ReportResult(c.run_id, same, status, None if same else STALE)
    return out


# --- new runs of a job -----------------------------------------------------------------


def new_runs(job: JobRef, news: Sequence[NewRun], now: datetime) -> list[QueuedRun]:
    """Queued runs of one job, each with a fresh id."""
    return [queued_run(job, new, run_id=ids.run_id(), now=now) for new in news]
