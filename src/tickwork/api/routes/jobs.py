"""/api/jobs, /api/dag and /api/schedules/preview."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pydantic
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from tickwork.api.auth import audit_note
from tickwork.api.deps import (
    BodyNamespace,
    ContainerDep,
    LimitDep,
    NamespaceDep,
    NamespacesDep,
    PrincipalDep,
    operation_id,
)
from tickwork.api.responses import JOB_PATCH_REF
from tickwork.domain.errors import ValidationError
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, check_namespace
from tickwork.domain.patches import MERGE_PATCH, changed_fields, merge_patch
from tickwork.domain.queries import JobFilter, RunFilter
from tickwork.schemas.calendars import inline_calendar
from tickwork.schemas.jobs import (
    DagEdge,
    DagNode,
    DagOut,
    JobDetailOut,
    JobIn,
    JobList,
    JobOut,
    JobStatsOut,
    PreviewOut,
    PreviewTickOut,
    TriggerIn,
    TriggerOut,
    job_document,
)
from tickwork.schemas.runs import RunList, RunOut

router = APIRouter(tags=["jobs"], generate_unique_id_function=operation_id)

JobStatus = Literal[
    "idle", "paused", "queued", "running", "completed", "failed", "cancelled", "missed"
]


@router.post("/api/jobs", status_code=201, response_model=JobOut, name="create")
async def create_job(
    body: JobIn,
    request: Request,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: BodyNamespace = None,
) -> JobOut:
    """Create a job in its namespace (the body's, else ``?namespace=``, else ``default``;
    needs admin there). 422 names the field at fault; 409 if the name is taken in the
    namespace or the dependencies cycle."""
    job = await c.jobs.create(body.to_spec(namespace), who=who)
    request.state.audit = {"target": job.id, "name": job.name, "namespace": job.spec.namespace}
    return JobOut.of(job)


@router.get("/api/jobs", response_model=JobList, name="list")
async def list_jobs(
    c: ContainerDep,
    limit: LimitDep,
    scope: NamespacesDep,
    status: Annotated[JobStatus | None, Query(description="Job status.")] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    schedule_type: Annotated[Literal["cron", "interval", "once", "none"] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200, description="Name contains.")] = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> JobList:
    """Jobs by name, then namespace (names are unique per namespace), with filters and
    keyset pagination (pass ``next_cursor`` back); only those of namespaces the token may
    read."""
    jobs, total, nxt = await c.jobs.list_jobs(
        JobFilter(
            status=status, tag=tag, schedule_type=schedule_type, q=q, namespaces=scope.filter
        ),
        limit=limit,
        cursor=cursor,
    )
    return JobList(
        jobs=[JobOut.of(j) for j in jobs],
        total=total.count,
        total_exact=total.exact,
        next_cursor=nxt,
    )


@router.get("/api/jobs/{ref}", response_model=JobDetailOut, name="get")
async def get_job(
    ref: str, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> JobDetailOut:
    """A job by id or name (in ``?namespace=``), with stats, its last 20 runs and the jobs
    that depend on it."""
    detail = await c.jobs.detail(ref, namespace, who=who)
    runs, _, _ = await c.runs.list_runs(RunFilter(job_id=detail.job.id), limit=20, cursor=None)
    st = detail.stats
    return JobDetailOut(
        **JobOut.of(detail.job).model_dump(),
        stats=JobStatsOut(
            total_runs=st.total_runs,
            completed=st.completed,
            failed=st.failed,
            success_rate=st.success_rate,
            avg_duration=st.avg_duration,
        ),
        recent_runs=[RunOut.of(r) for r in runs],
        dependents=detail.dependents,
    )


@router.put("/api/jobs/{ref}", response_model=JobOut, name="replace")
async def replace_job(
    ref: str,
    body: JobIn,
    request: Request,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: BodyNamespace = None,
) -> JobOut:
    """Replace a job's definition; the schedule and the DAG are checked again. The namespace
    cannot change (422)."""
    job = await c.jobs.replace(ref, body.to_spec(namespace), who=who)
    request.state.audit = {"namespace": job.spec.namespace}
    return JobOut.of(job)


PATCH_TYPES = (MERGE_PATCH, "application/json")


@router.patch(
    "/api/jobs/{ref}",
    response_model=JobOut,
    name="patch",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"$ref": JOB_PATCH_REF}} for t in PATCH_TYPES},
        }
    },
)
async def patch_job(
    ref: str, request: Request, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> JobOut:
    """Change some of a job's fields: the body is a JSON Merge Patch (RFC 7396) of its
    create body, sent as ``application/merge-patch+json`` or ``application/json`` (415
    otherwise). A field left out keeps its value, ``null`` resets it to its default, an
    object merges into the one there (``parameters``, ``request``) and anything else
    replaces it. The patched job is checked like a create (422 names the field); the
    namespace cannot change. The audit entry lists the fields that changed."""
    current = await c.jobs.get(ref, namespace, who=who, needs="admin")
    before = job_document(current)
    merged = merge_patch(before, await _patch_body(request))
    if isinstance(merged, dict):  # null: back to the default, which is where the job is
        merged.setdefault("namespace", current.spec.namespace)
    body = _job_in(merged)
    job = await c.jobs.replace(current.id, body.to_spec(), who=who)
    changed = changed_fields(before, body.model_dump(mode="json"))
    request.state.audit = {"namespace": job.spec.namespace, "changed": changed}
    return JobOut.of(job)


async def _patch_body(request: Request) -> Any:
    """The request's JSON value: 415 for a media type other than ``PATCH_TYPES``, 400 for
    a body that is not JSON."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in PATCH_TYPES:
        raise HTTPException(415, f"Content-Type must be {' or '.join(PATCH_TYPES)}")
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": str(exc), "input": None}]
        ) from exc


def _job_in(document: Any) -> JobIn:
    """The patched job as a create body; a 422 naming each field at fault otherwise."""
    try:
        return JobIn.model_validate(document)
    except pydantic.ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from exc


@router.delete("/api/jobs/{ref}", status_code=204, name="delete")
async def delete_job(
    ref: str, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep, force: bool = False
) -> Response:
    """Delete a job and its runs. 409 while other jobs depend on it, unless ``force=true``."""
    await c.jobs.delete(ref, namespace, force=force, who=who)
    return Response(status_code=204)


@router.post("/api/jobs/{ref}/trigger", status_code=202, response_model=TriggerOut, name="trigger")
async def trigger_job(
    ref: str,
    request: Request,
    c: ContainerDep,
    namespace: NamespaceDep,
    who: PrincipalDep,
    body: TriggerIn | None = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> TriggerOut:
    """Queue a run now. An ``Idempotency-Key`` header (or body field) returns the same run
    for the same key; with on_overlap=skip a queued or running run is returned instead."""
    body = body or TriggerIn()
    run_id, status, created = await c.jobs.trigger(
        ref,
        parameters=dict(body.parameters),
        idempotency_key=idempotency_key or body.idempotency_key,
        namespace=namespace,
        who=who,
        audit=audit_note(request, "jobs-trigger", status=202),
    )
    return TriggerOut(run_id=run_id, status=status, created=created)


@router.post("/api/jobs/{ref}/pause", response_model=JobOut, name="pause")
async def pause_job(
    ref: str, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> JobOut:
    """Stop scheduling the job (runs already queued still run)."""
    return JobOut.of(await c.jobs.set_enabled(ref, False, namespace, who=who))


@router.post("/api/jobs/{ref}/resume", response_model=JobOut, name="resume")
async def resume_job(
    ref: str, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> JobOut:
    """Schedule the job again from now (missed ticks while paused are not replayed)."""
    return JobOut.of(await c.jobs.set_enabled(ref, True, namespace, who=who))


@router.get("/api/jobs/{ref}/runs", response_model=RunList, name="runs")
async def job_runs(
    ref: str,
    c: ContainerDep,
    limit: LimitDep,
    namespace: NamespaceDep,
    who: PrincipalDep,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> RunList:
    """A job's runs, newest first."""
    job = await c.jobs.get(ref, namespace, who=who)
    runs, total, nxt = await c.runs.list_runs(RunFilter(job_id=job.id), limit=limit, cursor=cursor)
    return RunList(
        runs=[RunOut.of(r) for r in runs],
        total=total.count,
        total_exact=total.exact,
        next_cursor=nxt,
    )


@router.get("/api/dag", response_model=DagOut, tags=["dag"], name="get")
async def get_dag(c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep) -> DagOut:
    """Every job of the namespace that has or is a dependency, and the edges upstream →
    dependent by name; a job of another namespace at the far end of an edge is named
    ``namespace/name`` (and left out when the token may not read it)."""
    jobs, edges = await c.jobs.dag(namespace, who=who)
    label = {
        j.id: j.name if j.spec.namespace == namespace else f"{j.spec.namespace}/{j.name}"
        for j in jobs
    }
    return DagOut(
        nodes=[
            DagNode(
                id=j.id,
                name=label[j.id],
                namespace=j.spec.namespace,
                status=j.status,
                enabled=j.spec.enabled,
            )
            for j in jobs
        ],
        edges=[DagEdge(source=label[a], target=label[b], on=on) for a, b, on in edges],
    )


@router.get("/api/schedules/preview", response_model=PreviewOut, tags=["schedules"], name="preview")
async def preview_schedule(
    c: ContainerDep,
    who: PrincipalDep,
    schedule: Annotated[str, Query(min_length=1, max_length=200)],
    timezone: Annotated[str, Query(max_length=64)] = "UTC",
    n: Annotated[int, Query(ge=1, le=100)] = 10,
    calendar: Annotated[
        str | None,
        Query(
            max_length=200,
            description="A calendar of ?namespace= (read access needed there): its closed "
            "days' ticks are skipped or moved, and listed in ``ticks`` with the reason.",
        ),
    ] = None,
    calendar_policy: Annotated[Literal["skip", "next_business_day"], Query()] = "skip",
    namespace: Annotated[
        str | None, Query(max_length=63, description="The calendar's namespace.")
    ] = None,
    weekdays: Annotated[
        str | None,
        Query(
            max_length=40,
            description="An inline calendar (instead of ?calendar=): working ISO weekdays, "
            "comma-separated (default 1,2,3,4,5 when another inline field is given).",
        ),
    ] = None,
    country: Annotated[
        str | None, Query(max_length=10, description="Inline calendar: holidays of a country.")
    ] = None,
    subdivision: Annotated[
        str | None, Query(max_length=20, description="Inline calendar: of a subdivision.")
    ] = None,
    exclude_dates: Annotated[
        str | None,
        Query(max_length=4000, description="Inline calendar: ISO dates, comma-separated."),
    ] = None,
    include_dates: Annotated[
        str | None,
        Query(max_length=4000, description="Inline calendar: ISO dates, comma-separated."),
    ] = None,
) -> PreviewOut:
    """The next ``n`` fire times of an expression, to check it before saving (422 if bad),
    under a business calendar: a stored one ``?calendar=`` names (422 ``calendar`` if
    unknown), or one given inline by its fields; 422 ``calendar`` if it leaves no fire time
    within two years."""
    spec = inline_calendar(
        weekdays=weekdays,
        country=country,
        subdivision=subdivision,
        exclude_dates=exclude_dates,
        include_dates=include_dates,
    )
    if calendar is not None:
        if spec is not None:
            raise ValidationError("calendar", "name a calendar or give one inline, not both")
        ns = check_namespace(namespace) if namespace is not None else DEFAULT_NAMESPACE
        who.require("read", ns)
        spec = await c.calendars.spec_for(calendar, ns)
    sched, ticks = c.jobs.preview(schedule, timezone, n, calendar=spec, policy=calendar_policy)
    return PreviewOut(
        schedule=sched.expression,
        timezone=sched.timezone,
        schedule_type=sched.kind,
        next=[t.at for t in ticks if t.fires],
        calendar=calendar if calendar or spec is None else spec.name,
        calendar_policy=calendar_policy if spec else None,
        ticks=[
            PreviewTickOut(at=t.at, fires=t.fires, reason=t.reason, count=t.count) for t in ticks
        ],
    )
