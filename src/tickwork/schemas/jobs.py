"""Wire models for jobs (requests and responses)."""

from __future__ import annotations

from copy import copy
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    WithJsonSchema,
    WrapValidator,
    create_model,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import ValidatorFunctionWrapHandler

from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import Dependency, HttpRequest, Job, JobSpec
from tickwork.domain.namespaces import DEFAULT_NAMESPACE
from tickwork.domain.quotas import RATE_MAX, RateLimit
from tickwork.schemas.fields import Checked, Count, JsonDoc, JsonObject, Tag, Text, checked_text
from tickwork.schemas.runs import RunOut

COMMAND_CHARS = 65536
ARGV_ITEMS = 1000


def checked_command(value: Any, _handler: ValidatorFunctionWrapHandler) -> str | list[str] | None:
    """A shell command: a string, or an argv (a list of strings), each checked as text (the
    whole check: the union's own validation is never reached, so its errors never show)."""
    if value is None:
        return None
    if isinstance(value, str):
        items, argv = [value], False
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items, argv = value, True
        if not 1 <= len(items) <= ARGV_ITEMS:
            raise PydanticCustomError(
                "command", "an argv list holds 1 to {n} items", {"n": ARGV_ITEMS}
            )
    else:
        raise PydanticCustomError(
            "command", "must be a string (run by /bin/sh -c) or a list of strings (an argv)"
        )
    for item in items:
        if len(item) > COMMAND_CHARS:
            raise PydanticCustomError(
                "command", "at most {n} characters an item", {"n": COMMAND_CHARS}
            )
        _ = checked_text(item)
    return list(items) if argv else items[0]


Command = Annotated[
    str | list[str] | None,
    WrapValidator(checked_command),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": COMMAND_CHARS},
                {
                    "type": "array",
                    "items": {"type": "string", "maxLength": COMMAND_CHARS},
                    "minItems": 1,
                    "maxItems": ARGV_ITEMS,
                },
                {"type": "null"},
            ]
        }
    ),
]


class HttpRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Text = Field(max_length=2048, description="Absolute http(s) URL.")
    method: Text = Field(default="GET", max_length=10)
    headers: dict[Text, Annotated[str | dict[str, str], Checked]] = Field(
        default_factory=dict,
        description='Header values are strings, or {"$secret": "NAME"} filled in by the worker.',
    )
    body: JsonDoc = None
    timeout: float | None = Field(
        default=None,
        gt=0,
        le=7 * 86400,
        description="Seconds the request may take before the attempt fails (else the job's "
        "timeout).",
    )
    expect_status: list[Annotated[int, Strict(), Field(ge=100, le=599)]] | None = Field(
        default=None,
        max_length=50,
        description="The statuses that count as success; unset: any 2xx.",
    )


class RateLimitIn(BaseModel):
    """At most ``max`` starts in any window of ``per``."""

    model_config = ConfigDict(extra="forbid")

    max: Count = Field(ge=1, le=RATE_MAX, description="Starts allowed per window.")
    per: Text = Field(
        max_length=40, description="The window: '30s', '1m', '1h', 'PT5M' (at most 7 days)."
    )


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


class DependencyIn(BaseModel):
    """An edge with its condition; a plain name in ``depends_on`` means ``on: success``."""

    model_config = ConfigDict(extra="forbid")

    job: Text = Field(
        min_length=1,
        max_length=200,
        description="The upstream job: a name or id of the job's namespace, or "
        "'other-ns/name' (only an admin of both namespaces may add that).",
    )
    on: Literal["success", "failure", "done"] = Field(
        default="success",
        description="success: the upstream run completed; failure: it failed for good "
        "(failed, timed out, lost or missed with no retry left); done: it reached any final "
        "state (cancelled too).",
    )


def dependency_ref(dep: str | DependencyIn) -> tuple[str, str]:
    """An entry of ``depends_on`` as (job ref, condition): a plain name means success."""
    return (dep, "success") if isinstance(dep, str) else (dep.job, dep.on)


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
    command: Command = Field(
        default=None,
        description="shell jobs: a string is run with /bin/sh -c; a list is an argv run "
        "without a shell (the first item looked up on PATH).",
    )
    cwd: Text | None = Field(
        default=None,
        max_length=4096,
        description="shell jobs: the absolute directory the command runs in (else the worker's).",
    )
    env: dict[Annotated[Text, Field(max_length=128)], Annotated[str | dict[str, str], Checked]] = (
        Field(
            default_factory=dict,
            max_length=100,
            description="shell jobs: extra environment variables; a value is a string or "
            '{"$secret": "NAME"} filled in by the worker (masked in output). TICKWORK_* '
            "names are tickwork's own.",
        )
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
    depends_on: list[Annotated[Text, Field(max_length=200)] | DependencyIn] = Field(
        default_factory=list,
        max_length=100,
        description="The upstream jobs: a name or id (of the job's own namespace; "
        "'other-ns/name' names a job of another namespace, which only an admin of both "
        'namespaces may add) means "when it succeeds"; {"job": …, "on": "success" | '
        '"failure" | "done"} gives the condition.',
    )
    trigger_rule: Literal["all", "any"] = Field(
        default="all",
        description="all: a run is queued once every dependency's condition holds (each "
        "upstream's latest final run since this job's own latest run); any: once one holds.",
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
    delivery: Literal["at_least_once", "at_most_once"] = Field(
        default="at_least_once",
        description="at_least_once: a run whose worker is lost or times out is retried (its "
        "retries allowing). at_most_once: a run whose attempt may have started is never "
        "started again: the worker executes only once the coordinator took the start, and a "
        "lost or timed-out attempt ends the run failed ('lost; not retried: at-most-once'); "
        "failures the code itself reports are retried as the job allows.",
    )
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
    calendar: Text | None = Field(
        default=None,
        max_length=200,
        description="A business calendar of the job's namespace, by name (/api/calendars); "
        "ticks on its non-business days follow calendar_policy. 422 if unknown.",
    )
    calendar_policy: Literal["skip", "next_business_day"] = Field(
        default="skip",
        description="skip: a tick on a non-business day does not fire (recorded as skipped "
        "with the reason); next_business_day: it moves to the same local time on the next "
        "business day (ticks landing on one instant fire once).",
    )

    rate_limit: RateLimitIn | None = Field(
        default=None,
        description="At most max of this job's runs start in any window of per (e.g. "
        '{"max": 10, "per": "1m"}), across every worker and coordinator; the others stay '
        "queued, in order, and start as the window allows.",
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
        rate = data.pop("rate_limit")
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
                "depends_on": tuple(
                    Dependency(d) if isinstance(d, str) else Dependency(d.job, d.on)
                    for d in self.depends_on
                ),
                "tags": tuple(self.tags),
                "worker_tags": tuple(self.worker_tags),
                "command": tuple(self.command) if isinstance(self.command, list) else self.command,
                "rate_limit": RateLimit(**rate) if rate else None,
            },
            request=HttpRequest(
                url=req["url"],
                method=req["method"].upper(),
                headers=req["headers"],
                body=req["body"],
                timeout=req["timeout"],
                expect_status=tuple(req["expect_status"]) if req["expect_status"] else None,
            )
            if req
            else None,
        )


def job_document(job: Job) -> dict[str, Any]:
    """A job as the create body that would make it (every field of ``JobIn``, as JSON): what
    a merge patch applies to."""
    shown = JobOut.of(job).model_dump(mode="json")
    return {name: shown[name] for name in JobIn.model_fields}


def _patchable(info: FieldInfo) -> tuple[Any, FieldInfo]:
    """A field of ``JobIn`` as a field of its merge patch: the same type and rules, or
    ``null``, and nothing required."""
    kept = copy(info)
    kept.default, kept.default_factory = None, None
    kind: Any = info.annotation
    return kind | None, kept


_PATCH_FIELDS: dict[str, Any] = {name: _patchable(f) for name, f in JobIn.model_fields.items()}
JobPatch: type[BaseModel] = create_model(  # the body PATCH /api/jobs/{ref} documents
    "JobPatch",
    __config__=ConfigDict(
        extra="forbid",
        title="JobPatch",
        json_schema_extra={
            "description": "A JSON Merge Patch (RFC 7396) of a job's create body: only the "
            "fields to change; null resets a field to its default. The job with the patch "
            "applied must be a valid create body."
        },
    ),
    **_PATCH_FIELDS,
)


class JobOut(BaseModel):
    id: str
    name: str
    namespace: str
    type: str
    function: str | None
    command: str | list[str] | None
    cwd: str | None
    env: dict[str, Any]
    request: dict[str, Any] | None
    parameters: dict[str, Any]
    schedule: str | None
    schedule_type: Literal["cron", "interval", "once"] | None
    timezone: str
    depends_on: list[str | DependencyIn] = Field(
        description="A plain name for an on-success edge, an object for the others."
    )
    trigger_rule: Literal["all", "any"] = "all"
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
    delivery: str
    enabled: bool
    description: str
    retention_days: float | None
    retention_runs: int | None
    calendar: str | None = None
    calendar_policy: str = "skip"
    rate_limit: RateLimitIn | None
    sla: SlaIn | None
    expect_every: str | None
    status: str = Field(description="paused, idle (never ran), or the latest run's status.")
    pipeline_id: str | None = Field(
        default=None,
        description="The pipeline that owns the job (one of its tasks): it is changed only "
        "through the pipeline (a PUT, PATCH, DELETE, pause or resume here answers 409).",
    )
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
            command=list(s.command) if isinstance(s.command, tuple) else s.command,
            cwd=s.cwd,
            env=dict(s.env),
            request=s.request.as_dict() if s.request else None,
            parameters=dict(s.parameters),
            schedule=s.schedule,
            schedule_type=sched.kind if sched else None,
            timezone=s.timezone,
            depends_on=[
                d.job if d.on == "success" else DependencyIn(job=d.job, on=d.on)
                for d in s.depends_on
            ],
            trigger_rule=s.trigger_rule,
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
            delivery=s.delivery,
            enabled=s.enabled,
            description=s.description,
            retention_days=s.retention_days,
            retention_runs=s.retention_runs,
            calendar=s.calendar,
            calendar_policy=s.calendar_policy,
            rate_limit=RateLimitIn(**s.rate_limit.as_dict()) if s.rate_limit else None,
            sla=SlaIn(finish_within=s.sla_finish_within, max_duration=s.sla_max_duration)
            if s.sla_finish_within is not None or s.sla_max_duration is not None
            else None,
            expect_every=s.expect_every,
            status=job.status,
            pipeline_id=job.pipeline_id,
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
    on: Literal["success", "failure", "done"] = Field(
        default="success", description="The upstream outcome that counts along this edge."
    )


class DagOut(BaseModel):
    nodes: list[DagNode]
    edges: list[DagEdge]


class PreviewTickOut(BaseModel):
    at: datetime = Field(description="A fire time, or the first tick of a closed day.")
    fires: bool = Field(description="False for a closed day's ticks that do not fire there.")
    reason: str | None = Field(
        default=None,
        description="Why not: 'weekend', 'holiday: <name>', 'excluded date', … (with "
        "'; moved to <date>' under next_business_day).",
    )
    count: int = Field(default=1, description="How many ticks that closed day had.")


class PreviewOut(BaseModel):
    schedule: str
    timezone: str
    schedule_type: str
    next: list[datetime] = Field(description="The next n fire times (under the calendar).")
    calendar: str | None = Field(default=None, description="The calendar applied, if any.")
    calendar_policy: str | None = None
    ticks: list[PreviewTickOut] = Field(
        default_factory=list,
        description="The fire times with, under a calendar, a line before each for every "
        "closed day passed over and why.",
    )


class JobDetailOut(JobOut):
    stats: JobStatsOut
    recent_runs: list[RunOut]
    dependents: list[str]
