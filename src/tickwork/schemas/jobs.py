"""Wire models for jobs (requests and responses)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import HttpRequest, Job, JobSpec
from tickwork.domain.namespaces import DEFAULT_NAMESPACE
from tickwork.schemas.fields import Checked, Count, JsonDoc, JsonObject, Tag, Text
from tickwork.schemas.runs import RunOut


class HttpRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Text = Field(max_length=2048, description="Absolute http(s) URL.")
    method: Text = Field(default="GET", max_length=10)
    headers: dict[Text, Annotated[str | dict[str, str], Checked]] = Field(
        default_factory=dict,
        description='Header values are strings, or {"$secret": "NAME"} filled in by the worker.',
    )
    body: JsonDoc = None


class SlaIn(BaseModel):
    """A job's service levels; a breach is an ``sla.breached`` event, a metric and an alert."""

    model_config = ConfigDict(extra="forbid")

    finish_within: float | None = Field(
        default=None,
        gt=0,
        le=366 * 86400,
        description="Seconds after the run's scheduled time (else its queued time) by which "
        "it must have finished.",
    )
    max_duration: float | None = Field(
        default=None, gt=0, le=366 * 86400, description="Seconds a run may run."
    )


class JobIn(BaseModel):
    """A job definition. Unknown fields are rejected so typos never pass silently."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "daily-report",
                    "type": "python",
                    "function": "reports.generate_daily",
                    "schedule": "0 9 * * *",
                    "parameters": {"recipients": ["team@example.com"]},
                    "timeout": 3600,
                    "retries": 2,
                }
            ]
        },
    )

    name: Text = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    namespace: Text | None = Field(
        default=None,
        max_length=63,
        description="The job's namespace (lowercase letters, digits, '-'; 1 to 63). Unset: "
        "the request's ?namespace=, else 'default'. Fixed once the job exists.",
    )
    type: Literal["python", "shell", "http"]
    function: Text | None = Field(
        default=None, max_length=500, description="python jobs: 'package.module.function'."
    )
    command: Text | None = Field(
        default=None, max_length=65536, description="shell jobs: run with /bin/sh -c."
    )
    request: HttpRequestIn | None = Field(default=None, description="http jobs.")
    parameters: JsonObject = Field(
        default_factory=dict, description="A JSON object passed to the job."
    )
    schedule: Text | None = Field(
        default=None,
        max_length=200,
        description=(
            "cron ('0 9 * * *', '@daily'), interval ('every 5m', '1h', 'PT30S') or an ISO "
            "datetime with offset for one run."
        ),
    )
    timezone: Text = Field(default="UTC", max_length=64, description="IANA time zone for cron.")
    depends_on: list[Annotated[Text, Field(max_length=200)]] = Field(
        default_factory=list,
        max_length=100,
        description="Job names or ids that must succeed first, of the job's own namespace; "
        "'other-ns/name' names a job of another namespace, which only an admin of both "
        "namespaces may add.",
    )
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    worker_tags: list[Tag] = Field(default_factory=lambda: ["default"], max_length=10)
    timeout: float = Field(default=3600, gt=0, le=7 * 86400, description="Seconds.")
    retries: Count = Field(default=3, ge=0, le=100)
    retry_delay: float = Field(default=1, ge=0, le=86400, description="Seconds.")
    backoff: Literal["exponential", "fixed"] = "exponential"
    max_retry_delay: float = Field(default=300, ge=0, le=7 * 86400)
    concurrency: Count = Field(default=1, ge=1, le=100_000)
    on_overlap: Literal["skip", "queue", "allow", "cancel_previous"] = "skip"
    catchup: Literal["latest", "all", "none"] = "latest"
    start_deadline: float | None = Field(default=None, gt=0, le=7 * 86400)
    jitter: float = Field(default=0, ge=0, le=86400)
    priority: Count = Field(default=50, ge=0, le=100)
    isolation: Literal["pool", "process"] = "pool"
    enabled: bool = True
    description: Text = Field(default="", max_length=2000)
    retention_days: float | None = Field(
        default=None,
        gt=0,
        le=36500,
        description="Keep this job's finished runs this many days (unset: the server's "
        "TICKWORK_RETAIN_RUNS_DAYS). The latest run and runs with an unresolved dead letter "
        "are always kept.",
    )
    retention_runs: Count | None = Field(
        default=None,
        ge=1,
        le=10_000_000,
        description="Keep at most this many newest runs of this job; older finished runs go "
        "even when younger than retention_days (whichever removes more applies).",
    )
    sla: SlaIn | None = Field(default=None, description="Service levels of the job's runs.")
    expect_every: Text | None = Field(
        default=None,
        max_length=40,
        description="A dead man's switch: a duration (`26h`, `PT26H`); `job.silent` is "
        "raised when no run of the job succeeded within it.",
    )

    def to_spec(self, namespace: str | None = None) -> JobSpec:
        """The spec, in the body's namespace, else ``namespace`` (the request's), else
        'default'; 422 when the two disagree."""
        data = self.model_dump()
        req = data.pop("request")
        body_ns = data.pop("namespace")
        sla = data.pop("sla") or {}
        data["sla_finish_within"] = sla.get("finish_within")
        data["sla_max_duration"] = sla.get("max_duration")
        if body_ns is not None and namespace is not None and body_ns != namespace:
            raise ValidationError(
                "namespace", f"the body says '{body_ns}' but the request '{namespace}'"
            )
        return JobSpec(
            **{
                **data,
                "namespace": body_ns or namespace or DEFAULT_NAMESPACE,
                "depends_on": tuple(self.depends_on),
                "tags": tuple(self.tags),
                "worker_tags": tuple(self.worker_tags),
            },
            request=HttpRequest(
                url=req["url"],
                method=req["method"].upper(),
                headers=req["headers"],
                body=req["body"],
            )
            if req
            else None,
        )


class JobOut(BaseModel):
    id: str
    name: str
    namespace: str
    type: str
    function: str | None
    command: str | None
    request: dict[str, Any] | None
    parameters: dict[str, Any]
    schedule: str | None
    schedule_type: Literal["cron", "interval", "once"] | None
    timezone: str
    depends_on: list[str]
    tags: list[str]
    worker_tags: list[str]
    timeout: float
    retries: int
    retry_delay: float
    backoff: str
    max_retry_delay: float
    concurrency: int
    on_overlap: str
    catchup: str
    start_deadline: float | None
    jitter: float
    priority: int
    isolation: str
    enabled: bool
    description: str
    retention_days: float | None
    retention_runs: int | None
    sla: SlaIn | None
    expect_every: str | None
    status: str = Field(description="paused, idle (never ran), or the latest run's status.")
    next_run: datetime | None
    last_run_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, job: Job) -> JobOut:
        s = job.spec
        sched = s.parsed_schedule()
        return cls(
            id=job.id,
            name=s.name,
            namespace=s.namespace,
            type=s.type,
            function=s.function,
            command=s.command,
            request=s.request.as_dict() if s.request else None,
            parameters=dict(s.parameters),
            schedule=s.schedule,
            schedule_type=sched.kind if sched else None,
            timezone=s.timezone,
            depends_on=list(s.depends_on),
            tags=list(s.tags),
            worker_tags=list(s.worker_tags),
            timeout=s.timeout,
            retries=s.retries,
            retry_delay=s.retry_delay,
            backoff=s.backoff,
            max_retry_delay=s.max_retry_delay,
            concurrency=s.concurrency,
            on_overlap=s.on_overlap,
            catchup=s.catchup,
            start_deadline=s.start_deadline,
            jitter=s.jitter,
            priority=s.priority,
            isolation=s.isolation,
            enabled=s.enabled,
            description=s.description,
            retention_days=s.retention_days,
            retention_runs=s.retention_runs,
            sla=SlaIn(finish_within=s.sla_finish_within, max_duration=s.sla_max_duration)
            if s.sla_finish_within is not None or s.sla_max_duration is not None
            else None,
            expect_every=s.expect_every,
            status=job.status,
            next_run=job.next_run,
            last_run_at=job.last_run_at,
            created_at=job.created_at,
            updated_at=job.updated_at,
        )


class JobStatsOut(BaseModel):
    total_runs: int
    completed: int
    failed: int
    success_rate: float | None
    avg_duration: float | None


class JobList(BaseModel):
    jobs: list[JobOut]
    total: int = Field(
        description="How many match: exact up to 10,000, above that the database's estimate "
        "(total_exact false)."
    )
    total_exact: bool = Field(default=True, description="Whether total is an exact count.")
    next_cursor: str | None


class TriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: JsonObject = Field(
        default_factory=dict, description="Merged over the job's parameters."
    )
    idempotency_key: Text | None = Field(default=None, min_length=1, max_length=255)


class TriggerOut(BaseModel):
    run_id: str
    status: str
    created: bool = Field(description="False when an existing run was returned instead.")


class DagNode(BaseModel):
    id: str
    name: str
    namespace: str
    status: str
    enabled: bool


class DagEdge(BaseModel):
    source: str
    target: str


class DagOut(BaseModel):
    nodes: list[DagNode]
    edges: list[DagEdge]


class PreviewOut(BaseModel):
    schedule: str
    timezone: str
    schedule_type: str
    next: list[datetime]


class JobDetailOut(JobOut):
    stats: JobStatsOut
    recent_runs: list[RunOut]
    dependents: list[str]
