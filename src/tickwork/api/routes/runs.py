"""/api/runs and /api/dead-letters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from tickwork.api.deps import (
    ActorDep,
    BodyNamespace,
    ContainerDep,
    LimitDep,
    NamespaceDep,
    NamespacesDep,
    Offset,
    PrincipalDep,
    operation_id,
)
from tickwork.domain.errors import ValidationError
from tickwork.domain.queries import RunFilter, moment
from tickwork.domain.runs import RUN_STATUSES
from tickwork.schemas.fields import INT32_MAX
from tickwork.schemas.oneoff import RunSubmitIn
from tickwork.schemas.runs import (
    AttemptOut,
    BulkIn,
    BulkItemOut,
    BulkOut,
    DeadLetterList,
    DeadLetterOut,
    LogsOut,
    OneOffSpecOut,
    ResolveIn,
    RunDetail,
    RunList,
    RunOut,
)
from tickwork.service.container import Container

router = APIRouter(tags=["runs"], generate_unique_id_function=operation_id)


def _marker(c: Container) -> str:
    return f"[… output truncated: kept the last {c.settings.max_output_bytes} characters …]\n"


@router.get("/api/runs", response_model=RunList, name="list")
async def list_runs(
    c: ContainerDep,
    limit: LimitDep,
    scope: NamespacesDep,
    who: PrincipalDep,
    status: Annotated[str | None, Query(description="queued, running, completed, …")] = None,
    job: Annotated[
        str | None,
        Query(max_length=200, description="Job id, or name (in ?namespace=, else default)."),
    ] = None,
    since: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Queued at or after: ISO 8601 with an offset, or "
            "relative to now (-90s, -30m, -24h, -7d, -2w).",
        ),
    ] = None,
    until: Annotated[
        str | None, Query(max_length=64, description="Queued before (as since).")
    ] = None,
    sort: Annotated[
        Literal["queued_at", "started_at", "duration"],
        Query(description="The order; runs without the value (not started) come last."),
    ] = "queued_at",
    order: Annotated[Literal["desc", "asc"], Query()] = "desc",
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> RunList:
    """Runs, newest first by default, with filters, a sort and keyset pagination; only those
    of namespaces the token may read."""
    if status is not None and status not in RUN_STATUSES:
        raise ValidationError("status", f"must be one of {', '.join(RUN_STATUSES)}")
    now = c.clock.now()
    job_id = await c.runs.job_id_of(job, scope.lookup, who=who) if job else None
    runs, total, nxt = await c.runs.list_runs(
        RunFilter(
            status=status,
            job_id=job_id,
            namespaces=scope.filter,
            since=_moment("since", since, now),
            until=_moment("until", until, now),
            sort=sort,
            descending=order == "desc",
        ),
        limit=limit,
        cursor=cursor,
    )
    return RunList(
        runs=[RunOut.of(r) for r in runs],
        total=total.count,
        total_exact=total.exact,
        next_cursor=nxt,
    )


def _moment(name: str, value: str | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        return moment(value, now=now)
    except ValueError as exc:
        raise ValidationError(name, str(exc)) from exc


@router.post(
    "/api/runs",
    status_code=201,
    response_model=RunOut,
    name="submit",
    responses={
        200: {
            "model": RunOut,
            "description": "The run an earlier request with the same "
            "idempotency key made (nothing new queued).",
        },
        201: {
            "description": "Queued; Location names the run.",
            "headers": {
                "Location": {"description": "/api/runs/{id}", "schema": {"type": "string"}}
            },
        },
    },
)
async def submit_run(
    body: RunSubmitIn,
    request: Request,
    response: Response,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: BodyNamespace = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> RunOut:
    """Queue a **one-off run**: a job's definition inline, run once, now, with no job
    defined first. Listed with the runs (``one_off`` true), never with the jobs; everything a
    run has applies (retries, timeout, cancel, logs, dead letters and replay, retention,
    which removes the definition with the run). Needs operate in the namespace (the body's,
    else ``?namespace=``, else ``default``), as a trigger does; naming a secret
    (``{"$secret": …}``) needs admin there. The namespace's run quotas apply (429), not
    ``max_jobs``. A schedule or another job-only field is refused (422 naming it). An
    ``Idempotency-Key`` header (or body field) answers the run the key made (200)."""
    run, created = await c.runs.submit(
        body.to_spec(namespace),
        label=body.name,
        idempotency_key=idempotency_key or body.idempotency_key,
        who=who,
    )
    request.state.audit = {"target": run.id, "namespace": run.namespace}
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/runs/{run.id}"
    return RunOut.of(run)


@router.get("/api/runs/{run_id}", response_model=RunDetail, name="get")
async def get_run(run_id: str, c: ContainerDep, who: PrincipalDep) -> RunDetail:
    """A run with every attempt (worker, fence, exit code, error, captured output), while
    queued why it waits (its namespace's running quota, a rate limit), and a one-off run's
    inline definition (``spec``)."""
    run = await c.runs.get(run_id, who=who)
    attempts = await c.runs.attempts(run_id)
    marker = _marker(c)
    spec = await c.runs.definition(run)
    return RunDetail(
        **RunOut.of(run).model_dump(),
        attempts=[AttemptOut.of(a, marker) for a in attempts],
        waiting=await c.quotas.waiting(run),
        spec=OneOffSpecOut.of(spec, run.id) if spec else None,
    )


@router.get("/api/runs/{run_id}/logs", response_model=LogsOut, name="logs")
async def run_logs(
    run_id: str,
    c: ContainerDep,
    who: PrincipalDep,
    attempt: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
) -> LogsOut:
    """stdout/stderr of the latest (or the given) attempt; live chunks come over the WS."""
    await c.runs.get(run_id, who=who)
    attempts = await c.runs.attempts(run_id)
    chosen = [a for a in attempts if attempt is None or a.number == attempt]
    if not chosen:
        if attempt is not None:
            raise ValidationError("attempt", f"run '{run_id}' has no attempt {attempt}")
        return LogsOut(run_id=run_id, attempt=0, stdout="", stderr="")
    out = AttemptOut.of(chosen[-1], _marker(c))
    return LogsOut(run_id=run_id, attempt=out.number, stdout=out.stdout, stderr=out.stderr)


@router.post("/api/runs/{run_id}/cancel", response_model=RunOut, name="cancel")
async def cancel_run(run_id: str, c: ContainerDep, by: ActorDep, who: PrincipalDep) -> RunOut:
    """Queued → cancelled at once; running → its worker is told to stop it (SIGTERM, SIGKILL).
    The run keeps who cancelled it (``cancelled_by``: the token's name)."""
    return RunOut.of(await c.runs.cancel(run_id, by=by, who=who))


@router.post("/api/runs/{run_id}/retry", response_model=RunOut, name="retry")
async def retry_run(run_id: str, c: ContainerDep, who: PrincipalDep) -> RunOut:
    """Queue a failed, cancelled or missed run again: a new attempt series, same key."""
    return RunOut.of(await c.runs.retry(run_id, who=who))


@router.post("/api/runs/bulk", status_code=202, response_model=BulkOut, name="bulk")
async def bulk_runs(
    body: BulkIn, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> BulkOut:
    """Queue up to 10,000 runs in one transaction; a repeated idempotency key is not
    queued twice. Bulk runs always queue (on_overlap=skip does not fold them). Jobs by id,
    or by name in ``?namespace=``; operate is needed in every job's namespace."""
    made = await c.runs.bulk(
        [(r.job, dict(r.parameters), r.idempotency_key) for r in body.runs],
        namespace=namespace,
        who=who,
    )
    return BulkOut(
        runs=[BulkItemOut(run_id=i, created=k) for i, k in made],
        created=sum(1 for _, k in made if k),
    )


@router.get("/api/dead-letters", response_model=DeadLetterList, tags=["dead-letters"], name="list")
async def list_dead_letters(
    c: ContainerDep,
    limit: LimitDep,
    scope: NamespacesDep,
    resolved: Annotated[
        Literal["false", "true", "all"],
        Query(description="Open entries (false, the default), handled ones (true), or all."),
    ] = "false",
    offset: Offset = 0,
) -> DeadLetterList:
    """Runs that failed with no retries left (unresolved by default)."""
    which = {"false": False, "true": True, "all": None}[resolved]
    items, total = await c.runs.dead_letters(
        resolved=which, limit=limit, offset=offset, namespaces=scope.filter
    )
    return DeadLetterList(dead_letters=[DeadLetterOut.of(d) for d in items], total=total)


@router.post(
    "/api/dead-letters/{dl_id}/replay", response_model=RunOut, tags=["dead-letters"], name="replay"
)
async def replay_dead_letter(dl_id: str, c: ContainerDep, who: PrincipalDep) -> RunOut:
    """Queue the run again (same run id and idempotency key) and resolve the entry."""
    return RunOut.of(await c.runs.replay(dl_id, who=who))


@router.post(
    "/api/dead-letters/{dl_id}/resolve",
    response_model=DeadLetterOut,
    tags=["dead-letters"],
    name="resolve",
)
async def resolve_dead_letter(
    dl_id: str, c: ContainerDep, who: PrincipalDep, body: ResolveIn | None = None
) -> DeadLetterOut:
    """Mark the entry handled without running it again, with an optional ``note`` (why;
    kept on the entry and shown with it)."""
    note = body.note if body is not None else None
    return DeadLetterOut.of(await c.runs.resolve(dl_id, note=note, who=who))
