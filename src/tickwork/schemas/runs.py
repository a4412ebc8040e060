"""Wire models for runs, attempts, dead letters and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from tickwork.domain.jobs import JobSpec
from tickwork.domain.runs import Attempt, DeadLetter, Run
from tickwork.schemas.fields import JsonObject, Text


class UpstreamRunOut(BaseModel):
    """An upstream run that fired a dependency run (its latest final run at the time)."""

    run_id: str
    job: str = Field(description="The upstream job's name ('namespace/name' if another's).")
    status: str = Field(description="completed, failed, missed or cancelled.")
    error: str | None = Field(default=None, description="Its error (the last 4,000 characters).")
    error_summary: str | None = None


class RunOut(BaseModel):
    # read from the domain Run by attribute: one source for the wire shape
    model_config = ConfigDict(from_attributes=True)

    id: str
    job_id: str
    job_name: str
    namespace: str = Field(description="The job's namespace.")
    trigger: str
    scheduled_for: datetime | None
    idempotency_key: str
    parameters: dict[str, Any]
    status: str
    attempt: int
    max_attempts: int
    worker: str | None = Field(validation_alias=AliasChoices("worker", "worker_id"))
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration: float | None = Field(description="Seconds of the latest attempt.")
    timeout: float
    exit_code: int | None
    result: Any
    error: str | None
    error_summary: str | None = Field(
        description="Why the latest attempt failed, in one line of at most 200 characters."
    )
    output: str | None = Field(
        description="stdout of the latest attempt; null in lists (read the run itself)."
    )
    not_before: datetime | None
    upstream_run_ids: list[str]
    upstream: list[UpstreamRunOut] = Field(
        default_factory=list,
        description="A run fired by its dependencies: the upstream runs that fired it, with "
        "their status and error (what its code gets as ctx.upstream / TICKWORK_UPSTREAM).",
    )
    cancel_requested: bool
    cancelled_by: str | None = Field(
        description="Who cancelled the run: a token's name, 'cancel_previous' (a newer run "
        "superseded it) or 'system'; null unless cancelled."
    )
    one_off: bool = Field(
        default=False,
        description="Queued with an inline definition (POST /api/runs), not of a job: job_id "
        "names its hidden definition (no job under /api/jobs) and job_name is its label, "
        "else the run's id. GET /api/runs/{id} shows the definition as spec.",
    )
    pipeline_run_id: str | None = Field(
        default=None, description="The pipeline run the run is a task of (null: none)."
    )

    @classmethod
    def of(cls, run: Run) -> RunOut:
        return cls.model_validate(run)


class OneOffSpecOut(BaseModel):
    """A one-off run's definition, as submitted (secrets as their references, never values)."""

    name: str | None = Field(description="The label given, else null.")
    namespace: str
    type: str
    function: str | None
    command: str | list[str] | None
    cwd: str | None
    env: dict[str, Any]
    request: dict[str, Any] | None
    parameters: dict[str, Any]
    tags: list[str]
    worker_tags: list[str]
    timeout: float
    retries: int
    retry_delay: float
    backoff: str
    max_retry_delay: float
    start_deadline: float | None
    priority: int
    isolation: str
    delivery: str
    description: str

    @classmethod
    def of(cls, spec: JobSpec, run_id: str) -> OneOffSpecOut:
        return cls(
            name=None if spec.name == run_id else spec.name,
            namespace=spec.namespace,
            type=spec.type,
            function=spec.function,
            command=list(spec.command) if isinstance(spec.command, tuple) else spec.command,
            cwd=spec.cwd,
            env=dict(spec.env),
            request=spec.request.as_dict() if spec.request else None,
            parameters=dict(spec.parameters),
            tags=list(spec.tags),
            worker_tags=list(spec.worker_tags),
            timeout=spec.timeout,
            retries=spec.retries,
            retry_delay=spec.retry_delay,
            backoff=spec.backoff,
            max_retry_delay=spec.max_retry_delay,
            start_deadline=spec.start_deadline,
            priority=spec.priority,
            isolation=spec.isolation,
            delivery=spec.delivery,
            description=spec.description,
        )


class AttemptOut(BaseModel):
    number: int
    worker: str | None
    fence: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration: float | None
    exit_code: int | None
    error: str | None
    error_summary: str | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    stdout_chunks: int = Field(
        description="Output chunks appended to stdout so far. Live run.log events carry each "
        "chunk's number as data.seq: those with seq >= this count come after this text."
    )
    stderr_chunks: int = Field(description="The same for stderr.")
    output_pruned: bool = Field(
        default=False,
        description="Retention cleared stdout and stderr (TICKWORK_RETAIN_OUTPUT_DAYS).",
    )

    @classmethod
    def of(cls, a: Attempt, marker: str) -> AttemptOut:
        return cls(
            number=a.number,
            worker=a.worker_id,
            fence=a.fence,
            status=a.status,
            started_at=a.started_at,
            finished_at=a.finished_at,
            duration=a.duration,
            exit_code=a.exit_code,
            error=a.error,
            error_summary=a.error_summary,
            stdout=(marker if a.stdout_truncated and not a.output_pruned else "") + a.stdout,
            stderr=(marker if a.stderr_truncated and not a.output_pruned else "") + a.stderr,
            stdout_truncated=a.stdout_truncated,
            stderr_truncated=a.stderr_truncated,
            stdout_chunks=a.stdout_chunks,
            stderr_chunks=a.stderr_chunks,
            output_pruned=a.output_pruned,
        )


class RunDetail(RunOut):
    attempts: list[AttemptOut]
    waiting: str | None = Field(
        default=None,
        description="Why a queued run has not started beyond a free worker: 'waiting for "
        "quota: max_running …' (its namespace's running quota) or 'waiting for rate limit: …' "
        "(its job's or a tag's); null otherwise.",
    )
    spec: OneOffSpecOut | None = Field(
        default=None, description="A one-off run's inline definition; null for a job's run."
    )


class RunList(BaseModel):
    runs: list[RunOut]
    total: int = Field(
        description="How many match: exact up to 10,000, above that the database's estimate "
        "(total_exact false)."
    )
    total_exact: bool = Field(default=True, description="Whether total is an exact count.")
    next_cursor: str | None


class LogsOut(BaseModel):
    run_id: str
    attempt: int
    stdout: str
    stderr: str


class BulkRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: Text = Field(min_length=1, max_length=200, description="Job name or id.")
    parameters: JsonObject = Field(default_factory=dict)
    idempotency_key: Text | None = Field(default=None, min_length=1, max_length=255)


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runs: list[BulkRunIn] = Field(min_length=1, max_length=10_000)


class BulkItemOut(BaseModel):
    run_id: str
    created: bool


class BulkOut(BaseModel):
    runs: list[BulkItemOut]
    created: int


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Text | None = Field(
        default=None, max_length=1000, description="Why it needs no replay; kept on the entry."
    )


class DeadLetterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    run_id: str
    job_id: str
    job_name: str
    namespace: str = Field(description="The job's namespace.")
    error: str | None
    error_summary: str | None
    attempts: int
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    note: str | None = Field(description="The note it was resolved or replayed with, if any.")
    one_off: bool = Field(
        default=False,
        description="The run is a one-off run (POST /api/runs): job_id names its hidden "
        "definition, job_name its label (else the run's id).",
    )

    @classmethod
    def of(cls, d: DeadLetter) -> DeadLetterOut:
        return cls.model_validate(d)


class DeadLetterList(BaseModel):
    dead_letters: list[DeadLetterOut]
    total: int


class EventOut(BaseModel):
    id: int
    type: str
    ts: datetime
    job_id: str | None
    run_id: str | None
    namespace: str | None = Field(
        default=None, description="The job's namespace (none for worker events)."
    )
    data: dict[str, Any]
