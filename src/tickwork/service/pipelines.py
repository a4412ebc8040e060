"""Pipeline use cases: create, replace, delete, pause/resume, trigger, list; a pipeline
run's read, cancel and retry. Permissions are the jobs': read to see, operate to trigger,
pause, cancel and retry, admin to create, replace and delete (in the pipeline's namespace)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tickwork.domain import ids
from tickwork.domain.auth import ANONYMOUS_OPEN, Principal
from tickwork.domain.calendars import CalendarSpec
from tickwork.domain.clock import Clock
from tickwork.domain.errors import Conflict, NotFound, ValidationError
from tickwork.domain.jobs import Job, check_trigger_parameters
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, NamespaceFilter
from tickwork.domain.pipelines import (
    PIPELINE_ACTIVE,
    Pipeline,
    PipelineRun,
    PipelineSpec,
    PipelineTriggered,
    first_run,
    validate_pipeline,
)
from tickwork.domain.queries import Total
from tickwork.store.base import Store

from .notify import Notifier


class PipelineService:
    def __init__(self, store: Store, clock: Clock, notifier: Notifier) -> None:
        self.store = store
        self.clock = clock
        self.notifier = notifier

    async def get(
        self,
        ref: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        who: Principal = ANONYMOUS_OPEN,
        needs: str = "read",
    ) -> Pipeline:
        """A pipeline by id, or by name in ``namespace``; Forbidden unless ``who`` holds
        ``needs`` in its namespace."""
        if not ref.startswith("pipe-"):
            who.require(needs, namespace)
        found = await self.store.pipelines.get(ref, namespace=namespace)
        if found is None:
            where = "" if ref.startswith("pipe-") else f" in namespace '{namespace}'"
            raise NotFound(f"no pipeline with id or name '{ref}'{where}")
        who.require(needs, found.spec.namespace)
        return found

    async def create(self, spec: PipelineSpec, *, who: Principal = ANONYMOUS_OPEN) -> Pipeline:
        now = self.clock.now()
        who.require("admin", spec.namespace)
        spec = validate_pipeline(spec, now=now)
        pipeline_id = ids.pipeline_id()
        pipeline = Pipeline(
            id=pipeline_id,
            spec=spec,
            created_at=now,
            updated_at=now,
            next_run=first_run(spec, now=now, calendar=await self._calendar(spec)),
        )
        jobs = [
            Job(
                id=ids.job_id(), spec=t.job, created_at=now, updated_at=now, pipeline_id=pipeline_id
            )
            for t in spec.tasks
        ]
        await self.store.pipelines.insert(pipeline, jobs, now=now)
        await self.notifier.changed()
        return await self.get(pipeline_id)

    async def replace(
        self, ref: str, spec: PipelineSpec, *, force: bool = False, who: Principal = ANONYMOUS_OPEN
    ) -> Pipeline:
        """Replace a pipeline's definition (tasks added, changed, removed) in one
        transaction. Removing a task while a pipeline run is active: 409, unless ``force``
        (which cancels the active runs first). The namespace and name are fixed."""
        now = self.clock.now()
        current = await self.get(ref, spec.namespace, who=who, needs="admin")
        if spec.namespace != current.spec.namespace:
            raise ValidationError(
                "namespace", f"pipeline '{current.name}' is in namespace '{current.spec.namespace}'"
            )
        if spec.name != current.name:
            raise ValidationError("name", f"does not match the pipeline '{current.name}'")
        spec = validate_pipeline(spec, now=now)
        calendar = await self._calendar(spec)
        if force and set(current.job_ids) - {t.name for t in spec.tasks}:
            await self._cancel_active(current, by="pipeline replaced")
        next_run = current.next_run
        if _timing(current.spec) != _timing(spec) or next_run is None:
            next_run = first_run(spec, now=now, calendar=calendar)
        updated = replace(current, spec=spec, updated_at=now, next_run=next_run, job_ids={})
        jobs = [
            Job(
                id=current.job_ids.get(t.name) or ids.job_id(),
                spec=t.job,
                created_at=now,
                updated_at=now,
                pipeline_id=current.id,
            )
            for t in spec.tasks
        ]
        await self.store.pipelines.replace(updated, jobs, now=now)
        await self.notifier.changed()
        return await self.get(current.id)

    async def delete(
        self,
        ref: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        force: bool = False,
        who: Principal = ANONYMOUS_OPEN,
    ) -> Pipeline:
        """Delete a pipeline with its task jobs and runs; 409 while a pipeline run is active
        unless ``force`` (which cancels it first)."""
        pipeline = await self.get(ref, namespace, who=who, needs="admin")
        if force:
            await self._cancel_active(pipeline, by="pipeline deleted")
        await self.store.pipelines.delete(pipeline.id, now=self.clock.now())
        await self.notifier.changed()
        return pipeline

    async def set_enabled(
        self,
        ref: str,
        enabled: bool,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        who: Principal = ANONYMOUS_OPEN,
    ) -> Pipeline:
        """Pause (no more ticks; runs already made go on) or resume (from now)."""
        pipeline = await self.get(ref, namespace, who=who, needs="operate")
        now = self.clock.now()
        next_run = None
        if enabled:
            resumed = replace(pipeline.spec, enabled=True)
            next_run = first_run(resumed, now=now, calendar=await self._calendar(resumed))
        await self.store.pipelines.set_enabled(
            pipeline.id, enabled=enabled, next_run=next_run, now=now
        )
        await self.notifier.changed()
        return await self.get(pipeline.id)

    async def trigger(
        self,
        ref: str,
        *,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        idempotency_key: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        who: Principal = ANONYMOUS_OPEN,
    ) -> PipelineTriggered:
        """A pipeline run now (``parameters``: per task name, merged over the task's own);
        the same run again for the same idempotency key; with on_overlap=skip the active
        run is returned instead."""
        pipeline = await self.get(ref, namespace, who=who, needs="operate")
        given = dict(parameters or {})
        tasks = {t.name: t for t in pipeline.spec.tasks}
        for name, values in given.items():
            if name not in tasks:
                raise ValidationError(f"parameters.{name}", f"no task '{name}' in the pipeline")
            check_trigger_parameters(tasks[name].job, values, field=f"parameters.{name}")
        done = await self.store.pipeline_runs.trigger(
            pipeline.id,
            trigger="manual",
            parameters=given,
            idempotency_key=idempotency_key,
            now=self.clock.now(),
        )
        for run_id, worker in done.stopping:
            await self.notifier.cancel(worker, run_id)
        await (self.notifier.runs_ready() if done.created else self.notifier.changed())
        return done

    async def list_pipelines(
        self, namespaces: NamespaceFilter, *, q: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Pipeline], Total, str | None]:
        try:
            return await self.store.pipelines.page(namespaces, q=q, limit=limit, cursor=cursor)
        except ValueError as exc:
            raise ValidationError("cursor", str(exc)) from exc

    async def last_runs(self, pipelines: list[Pipeline]) -> dict[str, PipelineRun]:
        return await self.store.pipeline_runs.last_runs([p.id for p in pipelines])

    async def runs(
        self,
        ref: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        status: str | None = None,
        limit: int,
        cursor: str | None,
        who: Principal = ANONYMOUS_OPEN,
    ) -> tuple[list[PipelineRun], Total, str | None]:
        pipeline = await self.get(ref, namespace, who=who)
        try:
            return await self.store.pipeline_runs.runs_page(
                pipeline.id, status=status, limit=limit, cursor=cursor
            )
        except ValueError as exc:
            raise ValidationError("cursor", str(exc)) from exc

    async def run(
        self, run_id: str, *, who: Principal = ANONYMOUS_OPEN, needs: str = "read"
    ) -> PipelineRun:
        found = await self.store.pipeline_runs.run(run_id)
        if found is None:
            raise NotFound(f"no pipeline run '{run_id}'")
        who.require(needs, found.namespace)
        return found

    async def cancel_run(
        self, run_id: str, *, by: str = "system", who: Principal = ANONYMOUS_OPEN
    ) -> PipelineRun:
        """Cancel a queued or running pipeline run: its queued task runs cancelled, its
        running ones stopped, its pending tasks skipped; 409 once it ended."""
        await self.run(run_id, who=who, needs="operate")
        stopping = await self.store.pipeline_runs.cancel(run_id, by=by, now=self.clock.now())
        for task_run, worker in stopping:
            await self.notifier.cancel(worker, task_run)
        await self.notifier.changed()
        return await self.run(run_id)

    async def retry_run(self, run_id: str, *, who: Principal = ANONYMOUS_OPEN) -> PipelineRun:
        """Run a failed or cancelled pipeline run again from its failed, cancelled and
        skipped tasks (its completed ones kept); 409 otherwise."""
        await self.run(run_id, who=who, needs="operate")
        await self.store.pipeline_runs.retry(run_id, now=self.clock.now())
        await self.notifier.runs_ready()
        return await self.run(run_id)

    async def _cancel_active(self, pipeline: Pipeline, *, by: str) -> None:
        for status in sorted(PIPELINE_ACTIVE):
            runs, _, _ = await self.store.pipeline_runs.runs_page(
                pipeline.id, status=status, limit=1000, cursor=None
            )
            for run in runs:
                try:
                    await self.cancel_run(run.id, by=by)
                except Conflict:  # ended meanwhile
                    continue

    async def _calendar(self, spec: PipelineSpec) -> CalendarSpec | None:
        if spec.calendar is None:
            return None
        found = await self.store.calendars.get(spec.calendar, namespace=spec.namespace)
        if found is None:
            raise ValidationError(
                "calendar", f"unknown calendar '{spec.calendar}' in namespace '{spec.namespace}'"
            )
        return found.spec


def _timing(spec: PipelineSpec) -> tuple[object, ...]:
    return (spec.schedule, spec.timezone, spec.enabled, spec.calendar, spec.calendar_policy)
