"""GET /api/events: the stored event history (skipped ticks with their reasons, and more)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tickwork.api.deps import BeforeId, ContainerDep, NamespacesDep, PrincipalDep, operation_id
from tickwork.schemas.runs import EventOut

router = APIRouter(tags=["events"], generate_unique_id_function=operation_id)


@router.get("/api/events", response_model=list[EventOut], name="list")
async def list_events(
    c: ContainerDep,
    scope: NamespacesDep,
    who: PrincipalDep,
    job: Annotated[
        str | None,
        Query(max_length=200, description="Job id, or name (in ?namespace=, else default)."),
    ] = None,
    run: Annotated[str | None, Query(max_length=40)] = None,
    type: Annotated[
        list[str] | None,
        Query(max_length=20, description="Event types, e.g. run.skipped (repeatable)."),
    ] = None,
    before: BeforeId = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[EventOut]:
    """Events newest first, kept for the retention period: every skipped or missed tick
    (``run.skipped``, ``run.missed``) with its reason, run and job changes, workers. Only
    events of namespaces the token may read (and those of no job, such as workers'); a page
    may hold fewer than ``limit`` events when others were left out."""
    job_id = await c.runs.job_id_of(job, scope.lookup, who=who) if job else None
    events = await c.events.history(
        limit=limit, before=before, job_id=job_id, run_id=run, types=type
    )
    return [
        EventOut(
            id=e.id,
            type=e.type,
            ts=e.created_at,
            job_id=e.job_id,
            run_id=e.run_id,
            namespace=ns,
            data=dict(e.data),
        )
        for e, ns in await c.events.visible(events, scope.filter)
    ]
