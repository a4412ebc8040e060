"""/api/pipelines and /api/pipeline-runs: DAGs of tasks defined, triggered and watched as one
unit."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from tickwork.api.deps import (
    ActorDep,
    BodyNamespace,
    ContainerDep,
    LimitDep,
    NamespaceDep,
    NamespacesDep,
    PrincipalDep,
    operation_id,
)
from tickwork.domain.pipelines import Pipeline
from tickwork.schemas.pipelines import (
    PipelineIn,
    PipelineList,
    PipelineOut,
    PipelineRunList,
    PipelineRunOut,
    PipelineRunSummary,
    PipelineTriggerIn,
    PipelineTriggerOut,
)

router = APIRouter(tags=["pipelines"], generate_unique_id_function=operation_id)
runs_router = APIRouter(tags=["pipeline-runs"], generate_unique_id_function=operation_id)

Cursor = Annotated[str | None, Query(max_length=1000)]
Force = Annotated[
    bool, Query(description="Cancel the pipeline's active runs first instead of refusing (409).")
]


@router.post("/api/pipelines", status_code=201, response_model=PipelineOut, name="create")
async def create_pipeline(
    body: PipelineIn,
    request: Request,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: BodyNamespace = None,
) -> PipelineOut:
    """Create a pipeline and its task jobs (``<pipeline>.<task>``) in its namespace (admin
    there). 422 names the field at fault (``tasks[1].depends_on``: an unknown task, a cycle;
    ``tasks[0].name``: a duplicate, or a job of that name exists); 409 if the name is taken."""
    pipeline = await c.pipelines.create(body.to_spec(namespace), who=who)
    request.state.audit = {
        "target": pipeline.id,
        "name": pipeline.name,
        "namespace": pipeline.spec.namespace,
    }
    return PipelineOut.of(pipeline)


@router.get("/api/pipelines", response_model=PipelineList, name="list")
async def list_pipelines(
    c: ContainerDep,
    limit: LimitDep,
    scope: NamespacesDep,
    q: Annotated[str | None, Query(max_length=200, description="Name contains.")] = None,
    cursor: Cursor = None,
) -> PipelineList:
    """Pipelines by namespace and name (of the namespaces the token may read), each with its
    latest run; keyset pagination (pass ``next_cursor`` back)."""
    found, total, nxt = await c.pipelines.list_pipelines(
        scope.filter, q=q, limit=limit, cursor=cursor
    )
    last = await c.pipelines.last_runs(found)
    return PipelineList(
        items=[PipelineOut.of(p, last.get(p.id)) for p in found],
        total=total.count,
        total_exact=total.exact,
        next_cursor=nxt,
    )


@router.get("/api/pipelines/{ref}", response_model=PipelineOut, name="get")
async def get_pipeline(
    ref: str, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> PipelineOut:
    """A pipeline by id or name (in ``?namespace=``), with its tasks and latest run."""
    return await _out(c, await c.pipelines.get(ref, namespace, who=who))


async def _out(c: ContainerDep, pipeline: Pipeline) -> PipelineOut:
    """A pipeline with its latest run."""
    last = await c.pipelines.last_runs([pipeline])
    return PipelineOut.of(pipeline, last.get(pipeline.id))


@router.put("/api/pipelines/{ref}", response_model=PipelineOut, name="replace")
async def replace_pipeline(
    ref: str,
    body: PipelineIn,
    request: Request,
    c: ContainerDep,
    who: PrincipalDep,
    force: Force = False,
    namespace: BodyNamespace = None,
) -> PipelineOut:
    """Replace a pipeline's definition in one transaction: tasks added, changed and removed
    (their jobs with them). Removing a task while a pipeline run is active: 409 unless
    ``force=true``. The name and namespace cannot change (422)."""
    pipeline = await c.pipelines.replace(ref, body.to_spec(namespace), force=force, who=who)
    request.state.audit = {"target": pipeline.id, "namespace": pipeline.spec.namespace}
    return await _out(c, pipeline)


@router.delete("/api/pipelines/{ref}", status_code=204, name="delete")
async def delete_pipeline(
    ref: str,
    request: Request,
    c: ContainerDep,
    namespace: NamespaceDep,
    who: PrincipalDep,
    force: Force = False,
) -> Response:
    """Delete a pipeline, its task jobs and all their runs. 409 while a pipeline run is
    active, unless ``force=true`` (which cancels it)."""
    pipeline = await c.pipelines.delete(ref, namespace, force=force, who=who)
    request.state.audit = {"target": pipeline.id, "namespace": pipeline.spec.namespace}
    return Response(status_code=204)


@router.post("/api/pipelines/{ref}/pause", response_model=PipelineOut, name="pause")
async def pause_pipeline(
    ref: str, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> PipelineOut:
    """Stop scheduling the pipeline (runs already made go on)."""
    return await _out(c, await c.pipelines.set_enabled(ref, False, namespace, who=who))


@router.post("/api/pipelines/{ref}/resume", response_model=PipelineOut, name="resume")
async def resume_pipeline(
    ref: str, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> PipelineOut:
    """Schedule the pipeline again from now (ticks missed while paused are not replayed)."""
    return await _out(c, await c.pipelines.set_enabled(ref, True, namespace, who=who))


@router.post(
    "/api/pipelines/{ref}/trigger",
    status_code=201,
    response_model=PipelineTriggerOut,
    name="trigger",
)
async def trigger_pipeline(
    ref: str,
    c: ContainerDep,
    namespace: NamespaceDep,
    who: PrincipalDep,
    body: PipelineTriggerIn | None = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> PipelineTriggerOut:
    """A pipeline run now: its tasks with no upstream are queued at once. An
    ``Idempotency-Key`` header (or body field) returns the same run for the same key; under
    on_overlap=skip an active run is returned instead (``created`` false)."""
    body = body or PipelineTriggerIn()
    done = await c.pipelines.trigger(
        ref,
        parameters={k: dict(v) for k, v in body.parameters.items()},
        idempotency_key=idempotency_key or body.idempotency_key,
        namespace=namespace,
        who=who,
    )
    return PipelineTriggerOut(**PipelineRunOut.of(done.run).model_dump(), created=done.created)


@router.get("/api/pipelines/{ref}/runs", response_model=PipelineRunList, name="runs")
async def pipeline_runs(
    ref: str,
    c: ContainerDep,
    limit: LimitDep,
    namespace: NamespaceDep,
    who: PrincipalDep,
    status: Annotated[
        Literal["queued", "running", "completed", "failed", "cancelled"] | None, Query()
    ] = None,
    cursor: Cursor = None,
) -> PipelineRunList:
    """A pipeline's runs, newest first, each with its tasks counted by status."""
    found, total, nxt = await c.pipelines.runs(
        ref, namespace, status=status, limit=limit, cursor=cursor, who=who
    )
    return PipelineRunList(
        items=[PipelineRunSummary.of(r) for r in found],
        total=total.count,
        total_exact=total.exact,
        next_cursor=nxt,
    )


@runs_router.get("/api/pipeline-runs/{run_id}", response_model=PipelineRunOut, name="get")
async def get_pipeline_run(run_id: str, c: ContainerDep, who: PrincipalDep) -> PipelineRunOut:
    """A pipeline run with each task's state, run and timings."""
    return PipelineRunOut.of(await c.pipelines.run(run_id, who=who))


@runs_router.post(
    "/api/pipeline-runs/{run_id}/cancel", response_model=PipelineRunOut, name="cancel"
)
async def cancel_pipeline_run(
    run_id: str, c: ContainerDep, by: ActorDep, who: PrincipalDep
) -> PipelineRunOut:
    """Cancel a queued or running pipeline run: its queued task runs are cancelled, its
    running ones stopped, its pending tasks skipped ("pipeline cancelled"). 409 once it
    ended."""
    return PipelineRunOut.of(await c.pipelines.cancel_run(run_id, by=by, who=who))


@runs_router.post("/api/pipeline-runs/{run_id}/retry", response_model=PipelineRunOut, name="retry")
async def retry_pipeline_run(run_id: str, c: ContainerDep, who: PrincipalDep) -> PipelineRunOut:
    """Run a failed or cancelled pipeline run again: its failed, cancelled and skipped
    tasks run again as their rules allow (new runs), its completed ones are kept. 409
    otherwise."""
    return PipelineRunOut.of(await c.pipelines.retry_run(run_id, who=who))
