"""Shared steps of the tenancy tests: something of one namespace to reach for from another."""

from __future__ import annotations

from typing import Any

from tickwork.domain.pipelines import PipelineSpec, TaskNode, TaskSpec
from tickwork.domain.runs import Completion
from tickwork.service.container import Container
from tickwork.testing import job_spec


async def failed_run(c: Container, namespace: str, name: str) -> tuple[str, str, str]:
    """A job of ``namespace`` whose one run failed into a dead letter: (job, run, dead letter)."""
    job = await c.jobs.create(job_spec(name, namespace=namespace, retries=0))
    run_id, _, _ = await c.jobs.trigger(job.id)
    worker = await c.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=1, version="t"
    )
    [got] = await c.workers.claim(worker.id, limit=1, wait=0)
    await c.workers.complete_one(Completion(got.run_id, got.fence, "failed", error="boom"))
    letters, _ = await c.runs.dead_letters(resolved=False, limit=10, offset=0)
    [dl] = [d for d in letters if d.run_id == run_id]
    return job.id, run_id, dl.id


async def bearer(c: Container, **how: Any) -> dict[str, str]:
    """The header of a new token made with ``how`` (``role=…``, or ``scopes={…}``)."""
    _, secret = await c.tokens.create(name=f"t-{sorted(how.items())}", **how)
    return {"Authorization": f"Bearer {secret}"}


async def pipeline_run(c: Container, namespace: str) -> tuple[str, str]:
    """A pipeline ``flow`` of ``namespace`` with one run: (pipeline id, pipeline run id)."""
    pipeline = await c.pipelines.create(
        PipelineSpec(
            name="flow",
            namespace=namespace,
            tasks=(TaskSpec(TaskNode("t"), job_spec("flow.t", namespace=namespace)),),
        )
    )
    done = await c.pipelines.trigger(pipeline.id)
    return pipeline.id, done.run.id
