"""/api/workers and the worker protocol (claim, start, logs, complete, batched report)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tickwork.api.deps import ContainerDep, PrincipalDep, operation_id
from tickwork.domain.auth import Principal
from tickwork.domain.errors import Forbidden
from tickwork.domain.records import ReportResult
from tickwork.domain.runs import Assignment, Completion
from tickwork.schemas.workers import (
    AssignmentOut,
    ClaimIn,
    ClaimOut,
    CompleteIn,
    HeartbeatIn,
    HeartbeatOut,
    LogIn,
    ReportIn,
    ReportItem,
    ReportOut,
    StartIn,
    WorkerOut,
    WorkerRegisterIn,
    WorkerRegisterOut,
)

router = APIRouter(tags=["workers"], generate_unique_id_function=operation_id)


def _assignment(a: Assignment) -> AssignmentOut:
    return AssignmentOut(
        run_id=a.run_id,
        job_id=a.job_id,
        job_name=a.job_name,
        attempt=a.attempt,
        fence=a.fence,
        idempotency_key=a.idempotency_key,
        parameters=dict(a.parameters),
        type=a.job_type,
        function=a.target.get("function"),
        command=a.target.get("command"),
        cwd=a.target.get("cwd"),
        env=dict(a.target.get("env") or {}),
        request=a.target.get("request"),
        timeout=a.timeout,
        isolation=a.isolation,
        delivery="at_most_once" if a.delivery == "at_most_once" else "at_least_once",
        upstream=[dict(u) for u in a.upstream],
        lease_expires_at=a.lease_expires_at,
        ack_deadline=a.ack_deadline,
        claim_held=a.claim_held,
    )


def _items(results: list[ReportResult]) -> list[ReportItem]:
    return [ReportItem(run_id=r.run_id, ok=r.ok, status=r.status, error=r.error) for r in results]


@router.get("/api/workers", response_model=list[WorkerOut], name="list")
async def list_workers(c: ContainerDep) -> list[WorkerOut]:
    """Workers with their tags, slots, active runs and last heartbeat."""
    return [
        WorkerOut(
            id=w.id,
            hostname=w.hostname,
            pid=w.pid,
            tags=list(w.tags),
            concurrency=w.concurrency,
            active_jobs=w.active_jobs,
            last_heartbeat=w.last_heartbeat,
            status=w.status,
            version=w.version,
            registered_at=w.registered_at,
        )
        for w in await c.workers.list_workers()
    ]


@router.post("/api/workers", status_code=201, response_model=WorkerRegisterOut, name="register")
async def register_worker(
    body: WorkerRegisterIn, c: ContainerDep, who: PrincipalDep
) -> WorkerRegisterOut:
    """A worker announces itself; the answer carries the timing it must keep. A token held
    to some worker tags may register only with those (403 otherwise)."""
    if who.worker_tags is not None and not set(body.tags) <= set(who.worker_tags):
        extra = sorted(set(body.tags) - set(who.worker_tags))
        raise Forbidden(
            f"this token may register workers only with tags {', '.join(who.worker_tags)}; "
            f"not {', '.join(extra)}",
            details={"field": "tags", "allowed": list(who.worker_tags)},
        )
    w = await c.workers.register(
        hostname=body.hostname,
        pid=body.pid,
        tags=body.tags,
        concurrency=body.concurrency,
        version=body.version,
    )
    s = c.settings
    timing = s.lease_timing()
    return WorkerRegisterOut(
        id=w.id,
        heartbeat_interval=timing.interval,
        lease_seconds=timing.hold,
        ack_timeout=s.ack_timeout,
        claim_wait=s.claim_wait,
        report_claims=True,
    )


@router.post("/api/workers/{worker_id}/heartbeat", response_model=HeartbeatOut, name="heartbeat")
async def heartbeat(worker_id: str, body: HeartbeatIn, c: ContainerDep) -> HeartbeatOut:
    """Extend the leases of the worker's runs; with ``wait`` it long-polls for cancels."""
    res = await c.workers.heartbeat(worker_id, [(r.run_id, r.fence) for r in body.runs], body.wait)
    hold = c.settings.lease_timing().hold
    return HeartbeatOut(cancel=res.cancel, stale=res.stale, lease_seconds=hold)


@router.post("/api/workers/{worker_id}/claim", response_model=ClaimOut, name="claim")
async def claim(worker_id: str, body: ClaimIn, c: ContainerDep, who: PrincipalDep) -> ClaimOut:
    """Claim up to ``limit`` runs for the worker's tags (long-poll up to ``wait`` s). A token
    that may work only in some namespaces (or with some tags) claims only their runs."""
    got = await c.workers.claim(
        worker_id,
        limit=body.limit,
        wait=body.wait,
        namespaces=_claim_namespaces(who),
        tags=who.worker_tags,
    )
    return ClaimOut(assignments=[_assignment(a) for a in got])


def _claim_namespaces(who: Principal) -> list[str] | None:
    """The namespaces whose runs a worker using this token may claim (None: all)."""
    work = who.namespaces("work")
    if work.but:
        raise Forbidden(
            "a token whose '*' role may work but that names namespaces where it may not "
            "cannot claim: give the worker a token naming the namespaces it serves",
            details={"namespaces": sorted(work.but)},
        )
    return None if work.only is None else sorted(work.only)


@router.post("/api/workers/{worker_id}/report", response_model=ReportOut, name="report")
async def report(worker_id: str, body: ReportIn, c: ContainerDep, who: PrincipalDep) -> ReportOut:
    """Many runs' starts, log chunks, completions and released claims in one request and
    one transaction; with ``claim``, then up to that many runs claimed for the worker
    without waiting (one request where a report and a claim would take two)."""
    namespaces = _claim_namespaces(who) if body.claim else None  # refused before any change
    res = await c.workers.report(
        worker_id,
        starts=[(s.run_id, s.fence) for s in body.starts],
        logs=[(x.run_id, x.fence, x.stream, x.data) for x in body.logs],
        completions=[
            Completion(
                run_id=x.run_id,
                fence=x.fence,
                outcome=x.status,
                exit_code=x.exit_code,
                result=x.result,
                error=x.error,
                elapsed=x.elapsed,
            )
            for x in body.completions
        ],
        releases=[(r.run_id, r.fence) for r in body.releases],
        claim=body.claim,
        namespaces=namespaces,
        tags=who.worker_tags,
    )
    got = res.claimed or []
    return ReportOut(
        starts=_items(res.starts),
        logs=_items(res.logs),
        completions=_items(res.completions),
        releases=_items(res.releases),
        assignments=[_assignment(a) for a in got],
    )


@router.delete("/api/workers/{worker_id}", status_code=204, name="deregister")
async def deregister(worker_id: str, c: ContainerDep) -> Response:
    """The worker leaves; runs it claimed but never started go back to the queue."""
    await c.workers.deregister(worker_id)
    return Response(status_code=204)


@router.post("/api/runs/{run_id}/start", response_model=ReportItem, tags=["runs"], name="start")
async def start_run(run_id: str, body: StartIn, c: ContainerDep) -> ReportItem:
    """Confirm receipt of a claimed run (409 stale_fence if it moved on)."""
    res = await c.workers.start_one(run_id, body.worker_id, body.fence)
    return _items([res])[0]


@router.post(
    "/api/runs/{run_id}/logs", response_model=ReportItem, tags=["runs"], name="append-logs"
)
async def append_logs(run_id: str, body: LogIn, c: ContainerDep) -> ReportItem:
    """Append an output chunk to the running attempt (409 stale_fence)."""
    res = await c.workers.log_one(run_id, body.fence, body.stream, body.data)
    return _items([res])[0]


@router.post(
    "/api/runs/{run_id}/complete", response_model=ReportItem, tags=["runs"], name="complete"
)
async def complete_run(run_id: str, body: CompleteIn, c: ContainerDep) -> ReportItem:
    """Record the attempt's outcome; an identical repeat returns the stored result."""
    res = await c.workers.complete_one(
        Completion(
            run_id=run_id,
            fence=body.fence,
            outcome=body.status,
            exit_code=body.exit_code,
            result=body.result,
            error=body.error,
            elapsed=body.elapsed,
        )
    )
    return _items([res])[0]
