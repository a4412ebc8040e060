"""/api/runs/bulk-cancel, /api/runs/bulk-retry, /api/dead-letters/bulk and
/api/dead-letters/groups. Each bulk call is one transaction and one audit entry (naming the
count and the ids or the filter)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from tickwork.api.deps import (
    MAX_PAGE,
    ActorDep,
    ContainerDep,
    NamespaceDep,
    NamespacesDep,
    PrincipalDep,
    operation_id,
)
from tickwork.domain.auth import Principal
from tickwork.domain.errors import ValidationError
from tickwork.domain.queries import DeadLetterSelection, RunSelection
from tickwork.domain.records import BulkResult
from tickwork.schemas.bulk import (
    BulkCountOut,
    BulkRunsIn,
    DeadLetterGroupList,
    DeadLetterGroupOut,
    DeadLettersBulkIn,
)

router = APIRouter(generate_unique_id_function=operation_id)

MAX_GROUPS = MAX_PAGE


@router.post(
    "/api/runs/bulk-cancel", response_model=BulkCountOut, tags=["runs"], name="bulk-cancel"
)
async def bulk_cancel(
    body: BulkRunsIn,
    request: Request,
    c: ContainerDep,
    by: ActorDep,
    namespace: NamespaceDep,
    who: PrincipalDep,
) -> BulkCountOut:
    """Cancel queued runs and ask the workers of running ones to stop them, as the single
    cancel does; ``ids`` (up to 1000) or a ``filter`` (job, status: queued/running). Only
    runs of namespaces the token may operate in are touched and counted; a job named in
    the filter is looked up in ``?namespace=``."""
    sel, job = _run_selection(body, who)
    done = await c.bulk.cancel_runs(sel, job=job, by=by, namespace=namespace)
    return _answer(request, done, body.model_dump(exclude_none=True))


@router.post("/api/runs/bulk-retry", response_model=BulkCountOut, tags=["runs"], name="bulk-retry")
async def bulk_retry(
    body: BulkRunsIn, request: Request, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> BulkCountOut:
    """Queue failed runs again, each a new attempt series (other runs named are left as
    they are and not counted); ``ids`` (up to 1000) or a ``filter`` (job, status: failed).
    Only runs of namespaces the token may operate in are touched."""
    sel, job = _run_selection(body, who)
    done = await c.bulk.retry_runs(sel, job=job, namespace=namespace)
    return _answer(request, done, body.model_dump(exclude_none=True))


@router.post(
    "/api/dead-letters/bulk", response_model=BulkCountOut, tags=["dead-letters"], name="bulk"
)
async def bulk_dead_letters(
    body: DeadLettersBulkIn,
    request: Request,
    c: ContainerDep,
    namespace: NamespaceDep,
    who: PrincipalDep,
) -> BulkCountOut:
    """Replay (queue the runs again) or resolve open dead letters, with an optional note;
    ``ids`` (up to 1000) or a ``filter`` (job, error: an exact error summary; ``{}``: every
    open dead letter, what the list's "all matching" sends when it shows them all). Only
    entries of namespaces the token may operate in are touched."""
    _exactly_one(body.ids, body.filter)
    operable = who.namespaces("operate")
    sel = DeadLetterSelection(ids=tuple(body.ids or ()), namespaces=operable)
    job = None
    if body.filter is not None:
        given = body.filter.model_fields_set  # {}: every open dead letter
        job = body.filter.job
        sel = DeadLetterSelection(
            error_summary=body.filter.error,
            without_summary="error" in given and body.filter.error is None,
            namespaces=operable,
        )
    done = await c.bulk.dead_letters(body.action, sel, job=job, note=body.note, namespace=namespace)
    return _answer(request, done, body.model_dump(exclude_unset=True))


@router.get(
    "/api/dead-letters/groups",
    response_model=DeadLetterGroupList,
    tags=["dead-letters"],
    name="groups",
)
async def dead_letter_groups(
    c: ContainerDep,
    scope: NamespacesDep,
    limit: Annotated[int, Query(ge=1, le=MAX_GROUPS, description="Most groups.")] = MAX_GROUPS,
) -> DeadLetterGroupList:
    """Open dead letters counted by job and error summary, the largest groups first."""
    groups = await c.bulk.dead_letter_groups(limit=limit, namespaces=scope.filter)
    return DeadLetterGroupList(items=[DeadLetterGroupOut.of(g) for g in groups])


def _run_selection(body: BulkRunsIn, who: Principal) -> tuple[RunSelection, str | None]:
    _exactly_one(body.ids, body.filter)
    operable = who.namespaces("operate")
    if body.filter is None:
        return RunSelection(ids=tuple(body.ids or ()), namespaces=operable), None
    if body.filter.job is None and body.filter.status is None:
        raise ValidationError("filter", "name at least one of job, status")
    sel = RunSelection(statuses=tuple(body.filter.status or ()), namespaces=operable)
    return sel, body.filter.job


def _exactly_one(ids: list[str] | None, flt: Any) -> None:
    if (ids is None) == (flt is None):
        raise ValidationError("ids", "give exactly one of ids and filter")


def _answer(request: Request, done: BulkResult, body: dict[str, Any]) -> BulkCountOut:
    """The count; the audit entry names it with the ids or the filter asked for."""
    asked = {k: v for k, v in body.items() if k in ("ids", "filter", "action", "note")}
    request.state.audit = {"target": f"{done.count} selected", "count": done.count, **asked}
    return BulkCountOut(count=done.count)
