"""Wire models for runs, attempts, dead letters and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from tickwork.domain.runs import Attempt, DeadLetter, Run
from tickwork.schemas.fields import JsonObject, Text


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
    cancel_requested: bool
    cancelled_by: str | None = Field(
        description="Who cancelled the run: a token's name, 'cancel_previous' (a newer run "
        "superseded it) or 'system'; null unless cancelled."
    )
    pipeline_run_id: str | None = Field(
        default=None, description="The pipeline run the run is a task of (null: none)."
    )

    @classmethod
    def of(cls, run: Run) -> RunOut:
        return cls.model_validate(run)


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
