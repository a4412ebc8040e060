"""Wire models of the worker protocol (coordinator ⇄ worker, HTTP only) and worker views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

from tickwork.schemas.fields import (
    Count,
    ExitCode,
    Fence,
    OutputJson,
    OutputText,
    Tag,
    Text,
)

_Strict = ConfigDict(extra="forbid")

MAX_RUNS_IN_FLIGHT = 10_000
"""The most runs a worker may hold at once (its ``--concurrency``), and so the most it may
claim in one request."""


class WorkerRegisterIn(BaseModel):
    model_config = _Strict

    hostname: Text = Field(min_length=1, max_length=255)
    pid: Count
    tags: list[Tag] = Field(default_factory=lambda: ["default"], min_length=1, max_length=10)
    concurrency: Annotated[int, Strict(), Field(ge=1, le=MAX_RUNS_IN_FLIGHT)] = Field(
        default=4, description="Runs it may hold at once (its --concurrency)."
    )
    version: Text = Field(default="", max_length=40)


class WorkerRegisterOut(BaseModel):
    id: str
    heartbeat_interval: float
    lease_seconds: float
    ack_timeout: float
    claim_wait: float
    report_claims: bool = Field(
        default=False,
        description="Whether a report may carry a claim (its `claim`): the worker then claims "
        "with its reports while runs finish, and long-polls only when no report is on its way.",
    )


class RunFence(BaseModel):
    model_config = _Strict

    run_id: Text = Field(max_length=40)
    fence: Fence


class HeartbeatIn(BaseModel):
    model_config = _Strict

    runs: list[RunFence] = Field(default_factory=list, max_length=1000)
    wait: float = Field(
        default=0,
        ge=0,
        le=60,
        description=("Seconds to hold the request open waiting for a cancel for this worker."),
    )


class HeartbeatOut(BaseModel):
    cancel: list[str] = Field(description="Runs to stop now (SIGTERM, then SIGKILL).")
    stale: list[str] = Field(description="Runs this worker no longer owns: kill them.")
    lease_seconds: float


class ClaimIn(BaseModel):
    model_config = _Strict

    limit: Annotated[int, Strict(), Field(ge=0, le=MAX_RUNS_IN_FLIGHT)] = Field(
        default=1, description="Runs it can take now (free slots and prefetch)."
    )
    wait: float = Field(default=0, ge=0, le=60, description="Long-poll seconds.")


class AssignmentOut(BaseModel):
    run_id: str
    job_id: str
    job_name: str
    attempt: int = Field(description="The number this attempt will have once started.")
    fence: int
    idempotency_key: str
    parameters: dict[str, Any]
    type: Literal["python", "shell", "http"]
    function: str | None = None
    command: str | list[str] | None = Field(
        default=None, description="A string for /bin/sh -c, or an argv run without a shell."
    )
    cwd: str | None = None
    env: dict[str, Any] = Field(
        default_factory=dict,
        description='Extra variables of a shell run; {"$secret": NAME} values are filled in '
        "by the worker.",
    )
    request: dict[str, Any] | None = None
    timeout: float
    isolation: str
    delivery: Literal["at_least_once", "at_most_once"] = Field(
        default="at_least_once",
        description="at_most_once: execute only once the start is answered ok (a worker must "
        "not run it on the claim alone).",
    )
    upstream: list[dict[str, Any]] = Field(
        default_factory=list,
        description="A run fired by its dependencies: the upstream runs that fired it "
        "({run_id, job, status, error, error_summary}); python jobs get them as ctx.upstream, "
        "shell jobs as the JSON of TICKWORK_UPSTREAM, http jobs their run ids in the "
        "Tickwork-Upstream-Runs header.",
    )
    lease_expires_at: datetime | None
    ack_deadline: datetime
    claim_held: float = Field(
        default=0.0,
        description="Seconds the coordinator held the claim request (a long-poll) before "
        "claiming this run: the worker counts its ack window from the claim's send plus this.",
    )


class ClaimOut(BaseModel):
    assignments: list[AssignmentOut]


class StartIn(BaseModel):
    model_config = _Strict

    worker_id: Text = Field(max_length=40)
    fence: Fence


class LogIn(BaseModel):
    model_config = _Strict

    fence: Fence
    stream: Literal["stdout", "stderr"] = "stdout"
    data: OutputText = Field(
        max_length=1024 * 1024,
        description="Output as written; NUL and lone surrogates are stored as U+FFFD.",
    )


class CompleteIn(BaseModel):
    model_config = _Strict

    fence: Fence
    status: Literal["completed", "failed", "timed_out", "cancelled"]
    exit_code: ExitCode | None = None
    result: OutputJson = None
    error: OutputText | None = Field(default=None, max_length=64 * 1024)
    elapsed: float | None = Field(
        default=None,
        ge=0,
        le=30 * 86400,
        description="Seconds the attempt ran on the worker (its own clock). When the start "
        "is confirmed in the same report, the run's started_at is its finish less this.",
    )


class LogChunkIn(LogIn):
    run_id: Text = Field(max_length=40)


class CompletionIn(CompleteIn):
    run_id: Text = Field(max_length=40)


class ReportIn(BaseModel):
    """Many runs' starts, log chunks, completions and released claims in one request, applied
    in that order."""

    model_config = _Strict

    starts: list[RunFence] = Field(default_factory=list, max_length=1000)
    logs: list[LogChunkIn] = Field(default_factory=list, max_length=5000)
    completions: list[CompletionIn] = Field(default_factory=list, max_length=1000)
    releases: list[RunFence] = Field(
        default_factory=list,
        max_length=1000,
        description="Claims handed back unstarted (prefetched runs the worker will not get to "
        "in time): queued again at once, no attempt counted.",
    )
    claim: Annotated[int, Strict(), Field(ge=0, le=MAX_RUNS_IN_FLIGHT)] = Field(
        default=0,
        description="Runs the worker can take now: claimed once the report is applied, without "
        "waiting, and answered in `assignments` (as a claim's); 0 claims nothing.",
    )


class ReportItem(BaseModel):
    run_id: str
    ok: bool
    status: str | None = None
    error: str | None = Field(default=None, description="'stale_fence' when the run moved on.")


class ReportOut(BaseModel):
    starts: list[ReportItem]
    logs: list[ReportItem]
    completions: list[ReportItem]
    releases: list[ReportItem] = Field(default_factory=list)
    assignments: list[AssignmentOut] = Field(
        default_factory=list, description="The runs the report's `claim` took, in start order."
    )


class WorkerOut(BaseModel):
    id: str
    hostname: str
    pid: int
    tags: list[str]
    concurrency: int
    active_jobs: int
    last_heartbeat: datetime
    status: Literal["online", "lost", "offline"]
    version: str
    registered_at: datetime
