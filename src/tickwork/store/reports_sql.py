"""Worker reports, applied per batch: starts, log chunks, completions.

Each kind is a few set-based statements for the whole batch (not a few per run), so a
worker that reports fifty runs at once costs about what one run costs. Every write is
still conditional on the run's fence and status; an item that lost its race is answered
``stale_fence`` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain import ids
from tickwork.domain.outcomes import Decision, decide
from tickwork.domain.queries import NewRun
from tickwork.domain.records import ReportResult
from tickwork.domain.retry import RetryPolicy
from tickwork.domain.runs import Completion
from tickwork.store import tables as t
from tickwork.store.base import PendingEvents
from tickwork.store.dialect import one_of, pair_in, update_many
from tickwork.store.locking import lock_jobs_of_runs, lock_runs_by_id
from tickwork.store.protocol_sql import ProtocolStore
from tickwork.store.runs_sql import run_values

R = t.runs.c
A = t.attempts.c
STALE = "stale_fence"


def _policy(spec: dict[str, Any]) -> RetryPolicy:
    return RetryPolicy(
        retries=int(spec.get("retries", 3)),
        delay=float(spec.get("retry_delay", 1.0)),
        backoff=spec.get("backoff", "exponential"),
        max_delay=float(spec.get("max_retry_delay", 300.0)),
    )


class ReportStore(ProtocolStore):
    # --- starts -------------------------------------------------------------------
    async def runs_start(
        self, items: Sequence[tuple[str, int, str]], *, now: datetime
    ) -> list[ReportResult]:
        """Confirm receipt of claimed runs: (run_id, fence, worker_id) each."""
        async with self._write(now) as (conn, events):
            await self._lock_for_report(conn, starting=[i[0] for i in items])
            done = await self._start_many(conn, events, items, now)
        return [done[(rid, fence)] for rid, fence, _ in items]

    async def _start_many(
        self,
        conn: AsyncConnection,
        events: PendingEvents,
        items: Sequence[tuple[str, int, str]],
        now: datetime,
    ) -> dict[tuple[str, int], ReportResult]:
        if not items:
            return {}
        keys = list({(rid, fence) for rid, fence, _ in items})
        worker_of = {(rid, fence): wid for rid, fence, wid in items}
        started = (
            await conn.execute(
                sa.update(t.runs)
                .where(
                    pair_in(R.id, R.fence, keys, self.dialect),
                    R.status == "running",
                    R.started_at.is_(None),
                )
                .values(started_at=now, attempt=R.attempt + 1, ack_deadline=None)
                .returning(R.id, R.fence, R.attempt, R.job_id)
            )
        ).all()
        out = {(r.id, r.fence): ReportResult(r.id, True, "running") for r in started}
        if started:
            await conn.execute(  # executemany: compiled once, whatever the batch size
                sa.insert(t.attempts),
                [
                    {
                        "run_id": r.id,
                        "number": r.attempt,
                        "fence": r.fence,
                        "status": "running",
                        "worker_id": worker_of[(r.id, r.fence)],
                        "started_at": now,
                        "stdout": "",
                        "stderr": "",
                    }
                    for r in started
                ],
            )
            for r in started:
                events.add(
                    "run.started",
                    job_id=r.job_id,
                    run_id=r.id,
                    data={
                        "status": "running",
                        "attempt": r.attempt,
                        "worker": worker_of[(r.id, r.fence)],
                    },
                )
            await self._touch_job(conn, sorted({r.job_id for r in started}), "running", now)
        rest = [k for k in keys if k not in out]
        out.update(await self._repeated_starts(conn, rest))
        return out

    async def _repeated_starts(
        self, conn: AsyncConnection, keys: list[tuple[str, int]]
    ) -> dict[tuple[str, int], ReportResult]:
        """A start repeated by the owner is fine; any other is stale."""
        if not keys:
            return {}
        rows = {
            r.id: r
            for r in (
                await conn.execute(
                    sa.select(R.id, R.fence, R.status).where(
                        one_of(R.id, [k[0] for k in keys], self.dialect)
                    )
                )
            ).all()
        }
        out: dict[tuple[str, int], ReportResult] = {}
        for rid, fence in keys:
            row = rows.get(rid)
            if row is not None and row.fence == fence and row.status == "running":
                out[(rid, fence)] = ReportResult(rid, True, "running")
            else:
                out[(rid, fence)] = ReportResult(rid, False, row.status if row else None, STALE)
        return out

    # --- output -------------------------------------------------------------------
    async def runs_log(
        self, items: Sequence[tuple[str, int, str, str]], *, limit: int, now: datetime
    ) -> list[ReportResult]:
        """Append output chunks: (run_id, fence, stream, text), keeping the last ``limit``."""
        async with self._write(now) as (conn, events):
            await self._lock_for_report(conn, appending=[i[0] for i in items])
            return await self._log_many(conn, events, items, limit)

    async def _log_many(
        self,
        conn: AsyncConnection,
        events: PendingEvents,
        items: Sequence[tuple[str, int, str, str]],
        limit: int,
    ) -> list[ReportResult]:
        if not items:
            return []
        current = (
            sa.select(R.id, R.fence, R.attempt, R.job_id, A.stdout_chunks, A.stderr_chunks)
            .select_from(
                t.runs.join(
                    t.attempts,
                    (A.run_id == R.id) & (A.number == R.attempt) & (A.fence == R.fence),
                )
            )
            .where(
                pair_in(R.id, R.fence, {(i[0], i[1]) for i in items}, self.dialect),
                R.status == "running",
                R.attempt > 0,
            )
        )
        if self.is_postgres:  # chunk numbers are handed out under the attempt's row lock
            current = current.order_by(R.id).with_for_update(of=t.attempts, key_share=True)
        owners = {(r.id, r.fence): r for r in (await conn.execute(current)).all()}
        ok = [i for i in items if (i[0], i[1]) in owners]
        counts = {
            (key, stream): getattr(owner, f"{stream}_chunks")
            for key, owner in owners.items()
            for stream in ("stdout", "stderr")
        }
        for stream in ("stdout", "stderr"):
            rows = [
                {"b_run": rid, "b_fence": f, "b_n": owners[(rid, f)].attempt, "b_chunk": text}
                for rid, f, st, text in ok
                if st == stream
            ]
            if rows:
                await conn.execute(_append(stream, limit), rows)
        for rid, fence, stream, text in ok:
            owner = owners[(rid, fence)]
            seq = counts[((rid, fence), stream)]
            counts[((rid, fence), stream)] = seq + 1
            events.add(
                "run.log",
                job_id=owner.job_id,
                run_id=rid,
                data={
                    "stream": stream,
                    "chunk": text[-65536:],
                    "attempt": owner.attempt,
                    "seq": seq,
                },
            )
        return [
            ReportResult(i[0], True, "running")
            if (i[0], i[1]) in owners
            else ReportResult(i[0], False, None, STALE)
            for i in items
        ]

    # --- a whole worker report -----------------------------------------------------
    async def worker_report(
        self,
        worker_id: str,
        *,
        starts: Sequence[tuple[str, int]],
        logs: Sequence[tuple[str, int, str, str]],
        completions: Sequence[Completion],
        limit: int,
        now: datetime,
    ) -> tuple[list[ReportResult], list[ReportResult], list[ReportResult]]:
        """Starts, then log chunks, then completions, in one transaction."""
        async with self._write(now) as (conn, events):
            await self._lock_for_report(
                conn,
                starting=[r for r, _ in starts],
                appending=[i[0] for i in logs],
                finishing=[c.run_id for c in completions],
            )
            started = await self._start_many(
                conn, events, [(r, f, worker_id) for r, f in starts], now
            )
            logged = await self._log_many(conn, events, logs, limit)
            done = (
                await self._complete_many(conn, events, completions, worker_id, now)
                if completions
                else {}
            )
        return (
            [started[k] for k in starts],
            logged,
            [done[(c.run_id, c.fence)] for c in completions],
        )

    # --- completions ----------------------------------------------------------------
    async def runs_complete(
        self, items: Sequence[Completion], *, worker_id: str | None, now: datetime
    ) -> list[ReportResult]:
        async with self._write(now) as (conn, events):
            await self._lock_for_report(conn, finishing=[c.run_id for c in items])
            out = await self._complete_many(conn, events, items, worker_id, now)
        return [out[(c.run_id, c.fence)] for c in items]

    async def _lock_for_report(
        self,
        conn: AsyncConnection,
        *,
        starting: Sequence[str] = (),
        appending: Sequence[str] = (),
        finishing: Sequence[str] = (),
    ) -> None:
        """The lock order (store/locking.py) for a report: the jobs whose rows it may change
        (those of the runs it starts or finishes, and their dependents, which a completion
        may queue), then every run it names, by id; attempts only after their runs."""
        await lock_jobs_of_runs(
            conn, self.dialect, [*starting, *finishing], dependents_of=finishing
        )
        await lock_runs_by_id(conn, self.dialect, [*starting, *appending, *finishing])

    async def _complete_many(
        self,
        conn: AsyncConnection,
        events: PendingEvents,
        items: Sequence[Completion],
        worker_id: str | None,
        now: datetime,
    ) -> dict[tuple[str, int], ReportResult]:
        rows = await self._lock_runs(conn, [c.run_id for c in items])
        mine: list[Completion] = []
        others: list[Completion] = []  # not (or no longer) this attempt's to finish
        for c in items:
            r = rows.get(c.run_id)
            owns = r is not None and r.fence == c.fence and r.status == "running"
            (mine if owns else others).append(c)
        unstarted = [
            (c.run_id, c.fence, worker_id or rows[c.run_id].worker_id or "")
            for c in mine
            if rows[c.run_id].started_at is None
        ]
        if unstarted:  # a report may carry a run's start and its end together
            await self._start_many(conn, events, unstarted, now)
            rows = await self._lock_runs(conn, [c.run_id for c in items])
        out = await self._repeated_completions(conn, others, rows)
        finished = [(c, rows[c.run_id]) for c in mine]
        out.update(await self._finish_many(conn, events, finished, now))
        return out

    async def _lock_runs(self, conn: AsyncConnection, run_ids: list[str]) -> dict[str, Any]:
        """The runs (with their job's spec), row-locked on PostgreSQL for this batch."""
        stmt: sa.Select[Any] = (
            sa.select(*t.runs.c, t.jobs.c.spec.label("spec"), t.jobs.c.name.label("job_name"))
            .select_from(t.runs.join(t.jobs, t.jobs.c.id == R.job_id))
            .where(one_of(R.id, run_ids, self.dialect))
            .order_by(R.id)
        )
        if self.is_postgres:
            stmt = stmt.with_for_update(of=t.runs, key_share=True)
        return {r.id: r for r in (await conn.execute(stmt)).all()}

    async def _repeated_completions(
        self, conn: AsyncConnection, items: list[Completion], rows: dict[str, Any]
    ) -> dict[tuple[str, int], ReportResult]:
        """An identical repeat of a recorded outcome returns it; anything else is stale."""
        if not items:
            return {}
        recorded = {
            (a.run_id, a.fence): a.status
            for a in (
                await conn.execute(
                    sa.select(A.run_id, A.fence, A.status).where(
                        pair_in(
                            A.run_id, A.fence, [(c.run_id, c.fence) for c in items], self.dialect
                        )
                    )
                )
            ).all()
        }
        out: dict[tuple[str, int], ReportResult] = {}
        for c in items:
            row = rows.get(c.run_id)
            status = row.status if row is not None else None
            same = recorded.get((c.run_id, c.fence)) == c.outcome
            out[(c.run_id, c.fence)] = ReportResult(c.run_id, same, status, None if same else STALE)
        return out

    async def _finish_many(
        self,
        conn: AsyncConnection,
        events: PendingEvents,
        finished: list[tuple[Completion, Any]],
        now: datetime,
    ) -> dict[tuple[str, int], ReportResult]:
        if not finished:
            return {}
        plans = [(c, row, *_decision(c, row, now)) for c, row in finished]
        await update_many(
            conn,
            t.runs,
            keys=["id", "fence"],
            values=RUN_FINISH_COLUMNS,
            rows=[_run_values(c, row, d, now) for c, row, d, _ in plans],
            where="t.status = 'running'",
            dialect_name=self.dialect,
        )
        await update_many(
            conn,
            t.attempts,
            keys=["run_id", "fence"],
            values=["status", "finished_at", "exit_code", "error"],
            rows=[
                {
                    "run_id": c.run_id,
                    "fence": c.fence,
                    "status": outcome,
                    "finished_at": now,
                    "exit_code": c.exit_code,
                    "error": c.error,
                }
                for c, _, _, outcome in plans
            ],
            dialect_name=self.dialect,
        )
        letters = [
            {
                "id": ids.dead_letter_id(),
                "run_id": row.id,
                "job_id": row.job_id,
                "error": c.error,
                "attempts": row.attempt,
                "created_at": now,
            }
            for c, row, d, _ in plans
            if d.dead_letter
        ]
        if letters:
            await conn.execute(sa.insert(t.dead_letters), letters)
        last: dict[str, str] = {}
        for c, row, d, outcome in plans:
            _completion_event(events, c, row, d, outcome, now)
            last[row.job_id] = d.status
        for job_id, status in last.items():
            await self._touch_job(conn, [job_id], status, now)
        await self._fire_dependents_of(
            conn,
            events,
            [(row.job_id, row.id) for _, row, d, _ in plans if d.status == "completed"],
            now,
        )
        return {
            (c.run_id, c.fence): ReportResult(
                c.run_id,
                True,
                d.status,
                job_name=row.job_name,
                duration=(now - row.started_at).total_seconds(),
                outcome=outcome,
            )
            for c, row, d, outcome in plans
        }

    # --- dependencies ---------------------------------------------------------------
    async def _fire_dependents_of(
        self,
        conn: AsyncConnection,
        events: PendingEvents,
        done: list[tuple[str, str]],
        now: datetime,
    ) -> None:
        """Queue every dependent whose dependencies have all succeeded since its last run."""
        if not done:
            return
        has = set(
            (
                await conn.execute(
                    sa.select(t.job_deps.c.depends_on_id)
                    .where(one_of(t.job_deps.c.depends_on_id, {j for j, _ in done}, self.dialect))
                    .distinct()
                )
            ).scalars()
        )
        for job_id, run_id in done:
            if job_id in has:
                await self._fire_dependents(conn, events, job_id, run_id, now)

    async def _fire_dependents(
        self, conn: AsyncConnection, events: PendingEvents, job_id: str, run_id: str, now: datetime
    ) -> None:
        dependents = (
            await conn.execute(
                sa.select(t.jobs)
                .join(t.job_deps, t.job_deps.c.job_id == t.jobs.c.id)
                .where(t.job_deps.c.depends_on_id == job_id, t.jobs.c.enabled.is_(True))
            )
        ).all()
        for dep_job in dependents:
            upstream = await self._upstream_ready(conn, dep_job.id)
            if upstream is None:
                continue
            if dep_job.spec.get("on_overlap", "skip") == "skip" and await self._active_runs(
                conn, [dep_job.id]
            ):
                events.add(
                    "run.skipped",
                    job_id=dep_job.id,
                    data={
                        "reason": "previous run still active (on_overlap=skip)",
                        "upstream": run_id,
                    },
                )
                continue
            new = NewRun(
                job_id=dep_job.id,
                trigger="dependency",
                idempotency_key=f"after-{run_id}",
                upstream_run_ids=tuple(upstream),
            )
            await self._insert_runs(
                conn, events, [run_values(dep_job, new, now)], {dep_job.id: dep_job.name}
            )
            await self._touch_job(conn, [dep_job.id], "queued", now)

    async def _upstream_ready(self, conn: AsyncConnection, job_id: str) -> list[str] | None:
        last = (
            await conn.execute(sa.select(sa.func.max(R.queued_at)).where(R.job_id == job_id))
        ).scalar_one_or_none()
        deps = (
            (
                await conn.execute(
                    sa.select(t.job_deps.c.depends_on_id)
                    .where(t.job_deps.c.job_id == job_id)
                    .order_by(t.job_deps.c.depends_on_id)
                )
            )
            .scalars()
            .all()
        )
        upstream: list[str] = []
        for dep in deps:
            stmt = sa.select(R.id).where(R.job_id == dep, R.status == "completed")
            if last is not None:
                stmt = stmt.where(R.finished_at > last)
            found = (await conn.execute(stmt.order_by(R.finished_at.desc()).limit(1))).first()
            if found is None:
                return None
            upstream.append(found.id)
        return upstream


def _decision(c: Completion, row: Any, now: datetime) -> tuple[Decision, str]:
    outcome = "cancelled" if row.cancel_requested and c.outcome != "completed" else c.outcome
    return decide(
        outcome,
        attempt=row.attempt,
        max_attempts=row.max_attempts,
        policy=_policy(row.spec),
        now=now,
    ), outcome


RUN_FINISH_COLUMNS = [
    "status",
    "not_before",
    "lease_expires_at",
    "worker_id",
    "exit_code",
    "result",
    "error",
    "duration",
    "finished_at",
    "cancel_requested",
]


def _run_values(c: Completion, row: Any, d: Decision, now: datetime) -> dict[str, Any]:
    terminal = d.status != "queued"
    return {
        "id": c.run_id,
        "fence": c.fence,
        "status": d.status,
        "not_before": d.not_before,
        "lease_expires_at": None,
        "worker_id": row.worker_id if terminal else None,
        "exit_code": c.exit_code,
        "result": c.result,
        "error": c.error,
        "duration": (now - row.started_at).total_seconds(),
        "finished_at": now if terminal else None,
        "cancel_requested": False,
    }


def _append(stream: str, limit: int) -> sa.Update:
    """stdout = the last ``limit`` characters of (stdout || chunk); the flag marks a cut."""
    col, flag, count = (
        (A.stdout, A.stdout_truncated, A.stdout_chunks)
        if stream == "stdout"
        else (A.stderr, A.stderr_truncated, A.stderr_chunks)
    )
    chunk = sa.bindparam("b_chunk", type_=sa.Text)
    joined = col + chunk
    size = sa.func.length(col) + sa.func.length(chunk)
    return (
        sa.update(t.attempts)
        .where(
            A.run_id == sa.bindparam("b_run"),
            A.number == sa.bindparam("b_n"),
            A.fence == sa.bindparam("b_fence"),
        )
        .values(
            {
                col: sa.case(
                    (size > limit, sa.func.substr(joined, size - limit + 1)), else_=joined
                ),
                flag: sa.or_(flag, size > limit),
                count: count + 1,
            }
        )
    )


def _completion_event(
    events: PendingEvents, c: Completion, row: Any, d: Decision, outcome: str, now: datetime
) -> None:
    kind = "run.retrying" if d.status == "queued" else f"run.{d.status}"
    events.add(
        kind,
        job_id=row.job_id,
        run_id=row.id,
        data={
            "status": d.status,
            "job_name": row.job_name,
            "attempt": row.attempt,
            "outcome": outcome,
            "error": c.error,
            "exit_code": c.exit_code,
            "duration": (now - row.started_at).total_seconds(),
            "not_before": d.not_before.isoformat() if d.not_before else None,
        },
    )
