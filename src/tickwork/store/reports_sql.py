"""Worker reports, applied per batch: starts, output chunks, completions, in one transaction.

Each kind is a few set-based statements for the whole batch (not a few per run), so a
worker that reports fifty runs at once costs about what one run costs. Every write is still
conditional on the run's fence and status; an item that lost its race is answered
``stale_fence`` and changes nothing.

A short run's start and end usually arrive together (the worker runs first and confirms the
start with its next report): then the run is written once, started and finished, and the
attempt leaves no row of its own unless it printed something or did not complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.records import ClaimAsk, Report, ReportResult
from tickwork.domain.runs import Completion
from tickwork.store import reports_pg
from tickwork.store import tables as t
from tickwork.store.claims_pg import Terms, claim_after_finish
from tickwork.store.claims_sql import ClaimRows, assignments
from tickwork.store.database import Database, Outbox
from tickwork.store.dialect import insert_new, one_of, pair_in
from tickwork.store.finish_hooks import after_finish
from tickwork.store.locking import lock_jobs_of_runs
from tickwork.store.pipeline_flow import lock_pipeline_runs_of
from tickwork.store.run_writes import (
    STALE,
    answers,
    complete_runs,
    completed_plans,
    finish_rows,
    locked_runs,
    settled_events,
    unclaim,
)

R = t.runs.c
A = t.attempts.c

Start = tuple[str, int]  # run id, fence
Chunk = tuple[str, int, str, str]  # run id, fence, stream, text


class ReportRows:
    def __init__(self, db: Database, claims: ClaimRows) -> None:
        self.db = db
        self.claims = claims

    async def apply(
        self,
        worker_id: str,
        *,
        starts: Sequence[Start] = (),
        logs: Sequence[Chunk] = (),
        completions: Sequence[Completion] = (),
        releases: Sequence[Start] = (),
        limit: int,
        now: datetime,
        claim: ClaimAsk | None = None,
    ) -> Report:
        """Starts, then output, then completions, then releases, in one transaction. The lock
        order (store/locking.py): the pipeline runs the finishing runs are tasks of (a finish
        advances them), the jobs that depend on a finishing run's job by an edge of any
        condition (an ending may queue a run of each: ``finish_hooks.after_finish``), then
        every run named, by id.

        ``claim``: on PostgreSQL's happy path (below), the bypassing claim goes in the same
        round trip and commit as the finishes (``Report.claimed``); otherwise, or when one
        of its candidates is not free, ``claimed`` is None and the caller claims on its own.
        """
        named = [
            *(r for r, _ in starts),
            *(c[0] for c in logs),
            *(c.run_id for c in completions),
            *(r for r, _ in releases),
        ]
        finishing_ids = [c.run_id for c in completions]
        async with self.db.write(now) as (conn, events):
            if self.db.is_postgres:
                held, rows = await reports_pg.lock(conn, finishing_ids, named)
                if not held and _only_completed(starts, logs, completions, releases, rows):
                    terms = self._terms(claim, now)
                    return await self._completed(
                        conn, events, starts, completions, rows, worker_id, now, terms
                    )
            else:
                await lock_pipeline_runs_of(conn, self.db.dialect, finishing_ids)
                await lock_jobs_of_runs(conn, self.db.dialect, [], dependents_of=finishing_ids)
                rows = await locked_runs(conn, self.db.dialect, named)
            finishing = {(c.run_id, c.fence) for c in completions}
            started, now_started = await self._start(
                conn, events, starts, rows, finishing, worker_id, now
            )
            logged = await self._log(conn, events, logs, rows, now_started, limit, now)
            done, ended = await complete_runs(conn, self.db.dialect, events, completions, rows, now)
            await after_finish(conn, self.db.dialect, events, ended, now)
            released = await self._release(conn, events, releases, rows, worker_id)
        return Report(
            [started[k] for k in starts],
            logged,
            [done[(c.run_id, c.fence)] for c in completions],
            released,
        )

    async def _completed(
        self,
        conn: AsyncConnection,
        events: Outbox,
        starts: Sequence[Start],
        completions: Sequence[Completion],
        rows: dict[str, Any],
        worker_id: str,
        now: datetime,
        claim: Terms | None,
    ) -> Report:
        """The happy path on PostgreSQL (``_only_completed``): every run finishes as
        completed, written with its events (and the bypassing claim, if asked) and the
        commit in one round trip."""
        plans = completed_plans([(c, rows[c.run_id]) for c in completions], now)
        for _, row, _ in plans:
            if row.started_at is None:  # the attempt's start travels with its end
                _started_event(events, row, worker_id)
        none: dict[str, str | None] = {}
        settled_events(events, plans, none)
        updates, rows_out = finish_rows(plans, none), events.rows()
        events.pending.clear()
        if claim is None or self.claims.may_bypass(claim):
            got = await reports_pg.finish(conn, updates, rows_out, claim)
            if claim is not None and got is None:
                self.claims.limited(claim)
        else:
            held: dict[str, int] = {}
            got = await claim_after_finish(conn, claim, reports_pg.sender(updates, rows_out), held)
            self.claims.held(held)
        done = answers(plans)
        return Report(
            [ReportResult(run_id, True, "running") for run_id, _ in starts],
            [],
            [done[(c.run_id, c.fence)] for c in completions],
            [],
            None if got is None or claim is None else assignments(got, claim),
        )

    @staticmethod
    def _terms(claim: ClaimAsk | None, now: datetime) -> Terms | None:
        """The claim to carry in the report's commit."""
        if claim is None or claim.limit <= 0 or not claim.routes:
            return None
        return Terms(
            claim.worker_id,
            claim.routes,
            claim.limit,
            now,
            now + timedelta(seconds=claim.lease),
            now + timedelta(seconds=claim.ack_timeout),
            claim.namespaces,
        )

    # --- releases -----------------------------------------------------------------------

    async def _release(
        self,
        conn: AsyncConnection,
        events: Outbox,
        releases: Sequence[Start],
        rows: dict[str, Any],
        worker_id: str,
    ) -> list[ReportResult]:
        """Claims the worker hands back unstarted (prefetched runs it will not get to in
        time): queued again at once, no attempt counted."""
        if not releases:
            return []
        mine = {
            (run_id, fence)
            for run_id, fence in releases
            if (row := rows.get(run_id)) is not None
            and row.fence == fence
            and row.status == "running"
            and row.started_at is None
            and row.worker_id == worker_id
        }
        if mine:
            await unclaim(
                conn,
                self.db.dialect,
                events,
                one_of(R.id, sorted({r for r, _ in mine}), self.db.dialect),
                reason="handed back by the worker",
            )
        return [
            ReportResult(run_id, True, "queued")
            if (run_id, fence) in mine
            else ReportResult(run_id, False, _status(rows.get(run_id)), STALE)
            for run_id, fence in releases
        ]

    # --- starts -------------------------------------------------------------------------

    async def _start(
        self,
        conn: AsyncConnection,
        events: Outbox,
        starts: Sequence[Start],
        rows: dict[str, Any],
        finishing: set[Start],
        worker_id: str,
        now: datetime,
    ) -> tuple[dict[Start, ReportResult], set[str]]:
        """Confirm claims; (answers, runs whose attempt starts in this report). A start that
        comes with the run's completion is written by the completion, in the same update."""
        out: dict[Start, ReportResult] = {}
        confirm: list[Any] = []
        starting: list[Any] = []
        for run_id, fence in starts:
            row = rows.get(run_id)
            if row is None or row.fence != fence or row.status != "running":
                out[(run_id, fence)] = ReportResult(run_id, False, _status(row), STALE)
                continue
            out[(run_id, fence)] = ReportResult(run_id, True, "running")
            if row.started_at is None:
                starting.append(row)
                if (run_id, fence) not in finishing:
                    confirm.append(row)
        if confirm:
            await conn.execute(
                sa.update(t.runs)
                .where(
                    one_of(R.id, [r.id for r in confirm], self.db.dialect),
                    R.status == "running",
                    R.started_at.is_(None),
                )
                .values(started_at=now, attempt=R.attempt + 1, ack_deadline=None)
            )
        # every attempt that begins says so, also one whose start travels with its end (the
        # event shares the transaction's outbox row: no row of its own)
        for row in starting:
            _started_event(events, row, worker_id)
        return out, {row.id for row in starting}

    # --- output -------------------------------------------------------------------------

    async def _log(
        self,
        conn: AsyncConnection,
        events: Outbox,
        chunks: Sequence[Chunk],
        rows: dict[str, Any],
        starting: set[str],
        limit: int,
        now: datetime,
    ) -> list[ReportResult]:
        """Append output to the attempt's row (made on its first output), keeping the last
        ``limit`` characters of each stream; each chunk's number goes out with its event."""
        if not chunks:
            return []
        number: dict[Start, int] = {}
        for run_id, fence, _, _ in chunks:
            row = rows.get(run_id)
            if row is None or row.fence != fence or row.status != "running":
                continue
            n = row.attempt + (1 if run_id in starting else 0)
            if n > 0:  # output before any start is not this attempt's
                number[(run_id, fence)] = n
        ok = [c for c in chunks if (c[0], c[1]) in number]
        counts = await self._attempt_rows(conn, number, rows, now)
        for stream in ("stdout", "stderr"):
            batch = [
                {"b_run": rid, "b_n": number[(rid, f)], "b_chunk": text}
                for rid, f, st, text in ok
                if st == stream
            ]
            if batch:
                await conn.execute(_append(stream, limit), batch)
        for rid, fence, stream, text in ok:
            seq = counts[(rid, stream)]
            counts[(rid, stream)] = seq + 1
            events.add(
                "run.log",
                job_id=rows[rid].job_id,
                run_id=rid,
                data={
                    "stream": stream,
                    "chunk": text[-65536:],
                    "attempt": number[(rid, fence)],
                    "seq": seq,
                },
            )
        return [
            ReportResult(c[0], True, "running")
            if (c[0], c[1]) in number
            else ReportResult(c[0], False, _status(rows.get(c[0])), STALE)
            for c in chunks
        ]

    async def _attempt_rows(
        self,
        conn: AsyncConnection,
        number: dict[Start, int],
        rows: dict[str, Any],
        now: datetime,
    ) -> dict[tuple[str, str], int]:
        """Make the rows of attempts printing for the first time; the chunks each stream of
        each has so far (under the attempt row's lock, which the run's lock covers)."""
        await insert_new(
            conn,
            t.attempts,
            [
                {
                    "run_id": rid,
                    "number": n,
                    "worker_id": rows[rid].worker_id,
                    "fence": fence,
                    "status": "running",
                    "started_at": rows[rid].started_at or now,
                    "stdout": "",
                    "stderr": "",
                }
                for (rid, fence), n in number.items()
            ],
            key="run_id",
            dialect_name=self.db.dialect,
        )
        found = (
            await conn.execute(
                sa.select(A.run_id, A.stdout_chunks, A.stderr_chunks).where(
                    pair_in(
                        A.run_id,
                        A.number,
                        [(rid, n) for (rid, _), n in number.items()],
                        self.db.dialect,
                    )
                )
            )
        ).all()
        counts: dict[tuple[str, str], int] = {}
        for r in found:
            counts[(r.run_id, "stdout")] = r.stdout_chunks
            counts[(r.run_id, "stderr")] = r.stderr_chunks
        return counts

    # --- the single-item routes (POST /api/runs/{id}/start, /logs, /complete) --------------

    async def start(
        self, run_id: str, fence: int, worker_id: str, *, now: datetime
    ) -> ReportResult:
        return (await self.apply(worker_id, starts=[(run_id, fence)], limit=0, now=now)).starts[0]

    async def log(self, chunk: Chunk, *, limit: int, now: datetime) -> ReportResult:
        return (await self.apply("", logs=[chunk], limit=limit, now=now)).logs[0]

    async def complete(self, completion: Completion, *, now: datetime) -> ReportResult:
        return (await self.apply("", completions=[completion], limit=0, now=now)).completions[0]


def _only_completed(
    starts: Sequence[Start],
    logs: Sequence[Chunk],
    completions: Sequence[Completion],
    releases: Sequence[Start],
    rows: dict[str, Any],
) -> bool:
    """Whether a report only finishes runs it owns, each completed once, their starts (if
    any) travelling with their ends: the happy path, settled without SQLAlchemy."""
    if logs or releases or not completions:
        return False
    finishing = {(c.run_id, c.fence) for c in completions}
    if len(finishing) != len(completions) or len({r for r, _ in finishing}) != len(finishing):
        return False
    if any(s not in finishing for s in starts):
        return False
    for c in completions:
        row = rows.get(c.run_id)
        if c.outcome != "completed" or row is None or row.fence != c.fence:
            return False
        if row.status != "running":
            return False
    return True


def _started_event(events: Outbox, row: Any, worker_id: str) -> None:
    events.add(
        "run.started",
        job_id=row.job_id,
        run_id=row.id,
        data={"status": "running", "attempt": row.attempt + 1, "worker": worker_id},
    )


def _status(row: Any) -> str | None:
    return None if row is None else str(row.status)


def _append(stream: str, limit: int) -> sa.Update:
    """stream = the last ``limit`` characters of (stream || chunk); the flag marks a cut."""
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
        .where(A.run_id == sa.bindparam("b_run"), A.number == sa.bindparam("b_n"))
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


async def settle_expired(
    db: Database, items: Sequence[Completion], *, now: datetime
) -> list[ReportResult]:
    """The reaper's lost attempts (expired leases), settled as a report would settle them."""
    async with db.write(now) as (conn, events):
        await lock_pipeline_runs_of(conn, db.dialect, [c.run_id for c in items])
        await lock_jobs_of_runs(conn, db.dialect, [], dependents_of=[c.run_id for c in items])
        rows = await locked_runs(conn, db.dialect, [c.run_id for c in items])
        done, ended = await complete_runs(conn, db.dialect, events, items, rows, now)
        await after_finish(conn, db.dialect, events, ended, now)
    return [done[(c.run_id, c.fence)] for c in items]
