"""What a run reaching a final state sets off, in the transaction that ended it.

Every path that ends runs calls ``after_finish`` once, with the runs it ended: reports
settling attempts (completed, failed with no retry left, timed out or lost for good,
cancelled while running; also the reaper's expired leases, which settle as reports do), the
reaper's missed runs, and cancels of queued runs (one, or a bulk cancel). An attempt that will
be retried ends nothing and is not passed. Queued runs a newer run supersedes
(``on_overlap: cancel_previous``, ``run_writes.supersede``) are not passed either: such an
end fires no dependent (domain/trigger_rules.py), and the trigger or tick that supersedes them
holds only its own job's lock, not its dependents'.

It fires the dependents whose trigger rules now hold, and advances the pipeline runs the
ended runs are tasks of (store/pipeline_flow.py: queue the tasks their rules allow, skip what
can no longer run, end the pipeline run when nothing is left).

The lock order (store/locking.py): the caller has locked the pipeline runs of the ended runs,
then the jobs that depend on the ended runs' jobs, together with any other job it writes,
before the runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain import ids
from tickwork.domain.jobs import DependOn, TriggerRule
from tickwork.domain.newruns import queued_run
from tickwork.domain.overlap import Skip, decide_overlap, needs_active
from tickwork.domain.queries import NewRun
from tickwork.domain.records import Finished
from tickwork.domain.trigger_rules import (
    FINAL,
    SUPERSEDED,
    Edge,
    UpstreamRun,
    decide_fire,
    fires_dependents,
)
from tickwork.store import tables as t
from tickwork.store.database import Outbox
from tickwork.store.dialect import one_of
from tickwork.store.pipeline_flow import advance_pipeline_runs
from tickwork.store.rows import job_ref
from tickwork.store.run_writes import active_runs, insert_runs

R = t.runs.c
D = t.job_deps.c
J = t.jobs.c


__all__ = ["Finished", "after_finish"]


async def after_finish(
    conn: AsyncConnection,
    dialect: str,
    events: Outbox,
    finished: Sequence[Finished],
    now: datetime,
) -> None:
    """Queue the runs the trigger rules of the ended runs' dependents call for; advance the
    pipeline runs they are tasks of."""
    ended = [f for f in finished if fires_dependents(f.status, f.cancelled_by)]
    if ended:
        await _fire_dependents(conn, dialect, events, ended, now)
    await advance_pipeline_runs(conn, dialect, events, [f.run_id for f in finished], now)


async def _fire_dependents(
    conn: AsyncConnection, dialect: str, events: Outbox, ended: list[Finished], now: datetime
) -> None:
    has = set(
        (
            await conn.execute(
                sa.select(D.depends_on_id)
                .where(one_of(D.depends_on_id, {f.job_id for f in ended}, dialect))
                .distinct()
            )
        ).scalars()
    )
    for f in ended:
        if f.job_id in has:
            await _fire_after(conn, dialect, events, f, now)


async def _fire_after(
    conn: AsyncConnection, dialect: str, events: Outbox, f: Finished, now: datetime
) -> None:
    dependents = (
        await conn.execute(
            sa.select(t.jobs)
            .join(t.job_deps, D.job_id == J.id)
            .where(D.depends_on_id == f.job_id, J.enabled)
            .order_by(J.id)
        )
    ).all()
    for row in dependents:
        fired = await _decide(conn, row, f.job_id)
        if fired is None:
            continue
        job = job_ref(row)
        active = None
        if needs_active(job.on_overlap):
            active = (await active_runs(conn, dialect, [job.id], now)).get(job.id)
        decision = decide_overlap(job.on_overlap, active)
        if isinstance(decision, Skip):
            events.add(
                "run.skipped",
                job_id=job.id,
                data={"reason": decision.reason, "upstream": f.run_id},
            )
            continue
        new = NewRun(
            job_id=job.id,
            trigger="dependency",
            # the same upstream run may end again after a retry or replay: one key per end
            idempotency_key=f"after-{f.run_id}-{now.isoformat()}",
            upstream_run_ids=tuple(r.run_id for r in fired),
            upstream=tuple(r.as_context() for r in fired),
        )
        run = queued_run(job, new, run_id=ids.run_id(), now=now)
        await insert_runs(conn, dialect, events, [run], {job.id: job.name})


async def _decide(
    conn: AsyncConnection, dependent: Any, finished_job: str
) -> tuple[UpstreamRun, ...] | None:
    """Read what the dependent's trigger rule is judged on and apply it (the domain's
    ``decide_fire``): its edges, and each upstream's latest final run since its own latest
    run."""
    edges = [
        Edge(upstream=r.depends_on_id, on=_condition(r.condition))
        for r in (
            await conn.execute(
                sa.select(D.depends_on_id, D.condition)
                .where(D.job_id == dependent.id)
                .order_by(D.depends_on_id)
            )
        ).all()
    ]
    last = (
        await conn.execute(sa.select(sa.func.max(R.queued_at)).where(R.job_id == dependent.id))
    ).scalar_one_or_none()
    latest: dict[str, UpstreamRun] = {}
    for edge in edges:
        found = await _latest_final(conn, edge.upstream, last)
        if found is not None:
            own = found.namespace == dependent.namespace
            shown = found.name if own else f"{found.namespace}/{found.name}"
            latest[edge.upstream] = UpstreamRun(
                job_id=edge.upstream,
                run_id=found.id,
                job=shown,
                status=found.status,
                error=found.error,
                error_summary=found.error_summary,
            )
    rule: TriggerRule = "any" if dependent.spec.get("trigger_rule") == "any" else "all"
    return decide_fire(edges, rule, latest, finished=finished_job)


async def _latest_final(conn: AsyncConnection, job_id: str, since: datetime | None) -> Any:
    """The job's latest run in a final state that finished after ``since`` (or None); a run
    a newer one superseded is not an end (domain/trigger_rules.py ``fires_dependents``)."""
    stmt = (
        sa.select(R.id, R.status, R.error, R.error_summary, J.name, J.namespace)
        .join(t.jobs, J.id == R.job_id)
        .where(
            R.job_id == job_id,
            R.status.in_(sorted(FINAL)),
            R.finished_at.is_not(None),
            sa.or_(R.status != "cancelled", R.cancelled_by.is_distinct_from(SUPERSEDED)),
        )
    )
    if since is not None:
        stmt = stmt.where(R.finished_at > since)
    return (await conn.execute(stmt.order_by(R.finished_at.desc(), R.id.desc()).limit(1))).first()


def _condition(value: str) -> DependOn:
    return "failure" if value == "failure" else "done" if value == "done" else "success"
