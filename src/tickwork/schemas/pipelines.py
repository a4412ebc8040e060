"""Wire models for pipelines and pipeline runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, create_model

from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import Dependency, Job
from tickwork.domain.namespaces import DEFAULT_NAMESPACE
from tickwork.domain.pipelines import (
    Pipeline,
    PipelineRun,
    PipelineSpec,
    TaskNode,
    TaskRun,
    TaskSpec,
    job_name,
)
from tickwork.schemas.fields import JsonObject, Tag, Text
from tickwork.schemas.jobs import DependencyIn, JobIn, JobOut

NOT_TASK_FIELDS = frozenset(
    {
        "name",
        "namespace",
        "schedule",
        "timezone",
        "calendar",
        "calendar_policy",
        "depends_on",
        "trigger_rule",
    }
)
"""Job fields a task does not have: the pipeline's schedule, calendar and namespace are its
tasks', and a task's edges name tasks, not jobs."""

TASK_JOB_FIELDS = [f for f in JobIn.model_fields if f not in NOT_TASK_FIELDS]


DependsOn = list[Text | DependencyIn]

_TASK_FIELDS: dict[str, Any] = {
    f: (JobIn.model_fields[f].annotation, JobIn.model_fields[f]) for f in TASK_JOB_FIELDS
}
_TaskBase: type[BaseModel] = create_model(
    "PipelineTaskFields", __config__=ConfigDict(extra="forbid"), **_TASK_FIELDS
)


class TaskIn(_TaskBase):
    """A task: a short name, every job field but the schedule, calendar, namespace and job
    dependencies, and its edges to other tasks of the pipeline."""

    name: Text = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The task's name; its job is '<pipeline>.<task>'.",
    )
    depends_on: DependsOn = Field(
        default_factory=list,
        max_length=100,
        description="Tasks of this pipeline that must end first: a name (it must succeed) "
        'or {"job": name, "on": "success" | "failure" | "done"}.',
    )
    trigger_rule: Literal["all", "any"] = Field(
        default="all",
        description="all: every upstream condition must hold; any: one is enough.",
    )

    def node(self) -> TaskNode:
        return TaskNode(
            name=self.name,
            depends_on=tuple(
                Dependency(d) if isinstance(d, str) else Dependency(d.job, d.on)
                for d in self.depends_on
            ),
            trigger_rule=self.trigger_rule,
        )


class PipelineIn(BaseModel):
    """A pipeline definition: its schedule and policies, and its tasks."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "etl",
                    "schedule": "0 2 * * *",
                    "tasks": [
                        {"name": "extract", "type": "shell", "command": "echo extract"},
                        {
                            "name": "load",
                            "type": "python",
                            "function": "examples.tasks.add",
                            "parameters": {"a": 1, "b": 2},
                            "depends_on": ["extract"],
                        },
                    ],
                }
            ]
        },
    )

    name: Text = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    namespace: Text | None = Field(
        default=None,
        max_length=63,
        description="The pipeline's namespace (its tasks' too). Unset: the request's "
        "?namespace=, else 'default'. Fixed once the pipeline exists.",
    )
    description: Text = Field(default="", max_length=2000)
    schedule: Text | None = Field(
        default=None,
        max_length=200,
        description="cron, interval or a one-time ISO datetime, as for jobs; each tick makes "
        "one pipeline run.",
    )
    timezone: Text = Field(default="UTC", max_length=64)
    calendar: Text | None = Field(
        default=None, max_length=200, description="A business calendar of the namespace."
    )
    calendar_policy: Literal["skip", "next_business_day"] = "skip"
    on_overlap: Literal["skip", "queue", "allow", "cancel_previous"] = Field(
        default="skip",
        description="A trigger or tick while a pipeline run is active: skip it (the active "
        "run is returned), queue it (it starts when the active one ends), allow it "
        "(alongside), or cancel_previous (the active runs are cancelled).",
    )
    catchup: Literal["latest", "all", "none"] = "latest"
    enabled: bool = True
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    tasks: list[TaskIn] = Field(min_length=1, max_length=200)

    def to_spec(self, namespace: str | None = None) -> PipelineSpec:
        """The spec, in the body's namespace, else ``namespace``, else 'default' (422 when
        the two disagree); each task's job checked as a job body (422 ``tasks[i].field``)."""
        if self.namespace is not None and namespace is not None and self.namespace != namespace:
            raise ValidationError(
                "namespace", f"the body says '{self.namespace}' but the request '{namespace}'"
            )
        ns = self.namespace or namespace or DEFAULT_NAMESPACE
        return PipelineSpec(
            name=self.name,
            namespace=ns,
            tasks=tuple(self._task(i, task, ns) for i, task in enumerate(self.tasks)),
            description=self.description,
            schedule=self.schedule,
            timezone=self.timezone,
            calendar=self.calendar,
            calendar_policy=self.calendar_policy,
            on_overlap=self.on_overlap,
            catchup=self.catchup,
            enabled=self.enabled,
            tags=tuple(self.tags),
        )

    def _task(self, i: int, task: TaskIn, namespace: str) -> TaskSpec:
        name = job_name(self.name, task.name)
        if len(name) > 200:
            raise ValidationError(f"tasks[{i}].name", f"the job name '{name}' is too long")
        fields = task.model_dump(include=set(TASK_JOB_FIELDS), exclude_unset=True)
        try:
            body = JobIn.model_validate({**fields, "name": name, "namespace": namespace})
        except pydantic.ValidationError as exc:
            err = exc.errors()[0]
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
            raise ValidationError(f"tasks[{i}]{where}", str(err["msg"])) from exc
        return TaskSpec(task.node(), body.to_spec())


class PipelineTriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: dict[Text, JsonObject] = Field(
        default_factory=dict,
        description="Per task name: parameters merged over the task's own for this run.",
    )
    idempotency_key: Text | None = Field(default=None, min_length=1, max_length=255)


def _depends_out(edges: tuple[Dependency, ...]) -> list[str | dict[str, str]]:
    """Edges as given: a plain name for ``on: success``."""
    return [e.as_json() for e in edges]


_TASK_OUT_FIELDS: dict[str, Any] = {
    f: (JobOut.model_fields[f].annotation, ...) for f in TASK_JOB_FIELDS
}
_TaskOutBase: type[BaseModel] = create_model("PipelineTaskJobFields", **_TASK_OUT_FIELDS)


class TaskOut(_TaskOutBase):
    name: str
    job_id: str
    job_name: str
    depends_on: list[str | dict[str, str]]
    trigger_rule: str

    @classmethod
    def of(cls, pipeline: Pipeline, task: TaskSpec) -> TaskOut:
        job = Job(
            id=pipeline.job_ids.get(task.name, ""),
            spec=task.job,
            created_at=pipeline.created_at,
            updated_at=pipeline.updated_at,
        )
        shown = JobOut.of(job).model_dump()
        return cls(
            **{f: shown[f] for f in TASK_JOB_FIELDS},
            name=task.name,
            job_id=job.id,
            job_name=task.job.name,
            depends_on=_depends_out(task.node.depends_on),
            trigger_rule=task.node.trigger_rule,
        )


class PipelineRunSummary(BaseModel):
    id: str
    pipeline_id: str
    pipeline_name: str
    namespace: str
    status: Literal["queued", "running", "completed", "failed", "cancelled"]
    trigger: str
    scheduled_for: datetime | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration: float | None = Field(description="Seconds from its start to its end.")
    error: str | None
    task_counts: dict[str, int] = Field(description="Tasks by status.")

    @classmethod
    def of(cls, run: PipelineRun) -> PipelineRunSummary:
        return cls(**_run_fields(run), task_counts=run.task_counts())


class TaskRunOut(BaseModel):
    name: str
    job_id: str
    job_name: str
    run_id: str | None
    status: Literal["pending", "queued", "running", "completed", "failed", "cancelled", "skipped"]
    reason: str | None = Field(description="Why skipped (or why the run failed).")
    attempt: int | None
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration: float | None
    depends_on: list[str | dict[str, str]]
    trigger_rule: str
    runs: list[str] = Field(
        description="Every run the task had in this pipeline run (more than one after a retry)."
    )

    @classmethod
    def of(cls, t: TaskRun) -> TaskRunOut:
        return cls(
            name=t.name,
            job_id=t.job_id,
            job_name=t.job_name,
            run_id=t.run_id,
            status=t.status,
            reason=t.reason,
            attempt=t.attempt,
            queued_at=t.queued_at,
            started_at=t.started_at,
            finished_at=t.finished_at,
            duration=t.duration,
            depends_on=_depends_out(t.depends_on),
            trigger_rule=t.trigger_rule,
            runs=list(t.runs),
        )


class PipelineRunOut(PipelineRunSummary):
    tasks: list[TaskRunOut]

    @classmethod
    def of(cls, run: PipelineRun) -> PipelineRunOut:
        return cls(
            **_run_fields(run),
            task_counts=run.task_counts(),
            tasks=[TaskRunOut.of(t) for t in run.tasks],
        )


def _run_fields(run: PipelineRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "pipeline_id": run.pipeline_id,
        "pipeline_name": run.pipeline_name,
        "namespace": run.namespace,
        "status": run.status,
        "trigger": run.trigger,
        "scheduled_for": run.scheduled_for,
        "queued_at": run.queued_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration": run.duration,
        "error": run.error,
    }


class PipelineOut(BaseModel):
    id: str
    name: str
    namespace: str
    description: str
    schedule: str | None
    schedule_type: Literal["cron", "interval", "once"] | None
    timezone: str
    calendar: str | None
    calendar_policy: str
    on_overlap: str
    catchup: str
    enabled: bool
    tags: list[str]
    next_run: datetime | None
    created_at: datetime
    updated_at: datetime
    tasks: list[TaskOut]
    last_run: PipelineRunSummary | None

    @classmethod
    def of(cls, p: Pipeline, last: PipelineRun | None = None) -> PipelineOut:
        s = p.spec
        sched = s.parsed_schedule()
        return cls(
            id=p.id,
            name=s.name,
            namespace=s.namespace,
            description=s.description,
            schedule=s.schedule,
            schedule_type=sched.kind if sched else None,
            timezone=s.timezone,
            calendar=s.calendar,
            calendar_policy=s.calendar_policy,
            on_overlap=s.on_overlap,
            catchup=s.catchup,
            enabled=s.enabled,
            tags=list(s.tags),
            next_run=p.next_run,
            created_at=p.created_at,
            updated_at=p.updated_at,
            tasks=[TaskOut.of(p, t) for t in s.tasks],
            last_run=PipelineRunSummary.of(last) if last else None,
        )


class PipelineList(BaseModel):
    items: list[PipelineOut]
    total: int
    total_exact: bool = True
    next_cursor: str | None


class PipelineRunList(BaseModel):
    items: list[PipelineRunSummary]
    total: int
    total_exact: bool = True
    next_cursor: str | None


class PipelineTriggerOut(PipelineRunOut):
    created: bool = Field(description="False when an existing pipeline run was returned.")


def pipeline_document(p: PipelineOut, *, defaults: bool = True) -> dict[str, Any]:
    """A pipeline as the create body that would make it (``defaults=False``: only the
    fields that differ from their defaults, the apply-file form); no namespace."""
    tasks = []
    for t in p.tasks:
        shown = t.model_dump(mode="json")
        tasks.append(
            {f: shown[f] for f in ("name", "depends_on", "trigger_rule", *TASK_JOB_FIELDS)}
        )
    fields = {f: v for f, v in p.model_dump(mode="json").items() if f in PipelineIn.model_fields}
    body = PipelineIn.model_validate({**fields, "tasks": tasks, "namespace": None})
    doc = body.model_dump(mode="json", exclude_defaults=not defaults, exclude={"namespace"})
    if not defaults:
        doc = {"name": p.name, **{k: _tidy(v) for k, v in doc.items() if k != "name"}}
        doc["tasks"] = [_task_document(t) for t in body.tasks]
    return doc


def _task_document(task: TaskIn) -> dict[str, Any]:
    """A task's apply-file form: its name, then the fields that differ from the defaults."""
    doc = task.model_dump(mode="json", exclude_defaults=True)
    if isinstance(doc.get("request"), dict):
        doc["request"] = {k: v for k, v in doc["request"].items() if v not in (None, {}, "")}
    return {"name": task.name, **{k: _tidy(v) for k, v in doc.items() if k != "name"}}


def _tidy(value: Any) -> Any:
    """600.0 → 600, for people reading the file."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
