"""Wire model of a one-off run's submission (``POST /api/runs``; domain/oneoff.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from tickwork.domain.jobs import JobSpec
from tickwork.domain.oneoff import JOB_ONLY, UNNAMED, job_only_reason
from tickwork.schemas.fields import Checked, Count, JsonDoc, JsonObject, Tag, Text
from tickwork.schemas.jobs import Command, HttpRequestIn, JobIn

_SPEC_FIELDS = (
    "namespace",
    "type",
    "function",
    "command",
    "cwd",
    "env",
    "request",
    "parameters",
    "tags",
    "worker_tags",
    "timeout",
    "retries",
    "retry_delay",
    "backoff",
    "max_retry_delay",
    "start_deadline",
    "priority",
    "isolation",
    "delivery",
    "description",
)

_Refused = SkipJsonSchema[JsonDoc]
"""A job field a one-off run refuses: left out of the schema, 422 naming it when given."""


class RunSubmitIn(BaseModel):
    """A one-off run: a job's definition inline, queued once, now, without defining a job.
    The fields are a job's (``POST /api/jobs``) without those that describe a job over time:
    ``schedule``, ``timezone``, ``depends_on``, ``calendar``, ``calendar_policy``,
    ``on_overlap``, ``catchup``, ``concurrency``, ``jitter``, ``enabled``, ``retention_*``,
    ``rate_limit``, ``sla`` and ``expect_every`` are refused (422 naming the field)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "type": "shell",
                    "command": "pg_dump --no-owner shop > /backups/shop.sql",
                    "env": {"PGPASSWORD": {"$secret": "SHOP_DB_PASSWORD"}},
                    "retries": 2,
                    "timeout": 600,
                    "name": "backup-before-migration",
                },
                {
                    "type": "python",
                    "function": "reports.rebuild",
                    "parameters": {"month": "2026-11"},
                    "namespace": "analytics",
                    "idempotency_key": "rebuild-2026-11",
                },
            ]
        },
    )

    name: Text | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A label shown with the run (as its job_name): letters, digits, '.', '_' "
        "and '-', not starting with 'job-' or 'run-'; need not be unique. Unset: the run's id.",
    )
    namespace: Text | None = Field(
        default=None,
        max_length=63,
        description="The run's namespace (unset: the request's ?namespace=, else 'default').",
    )
    type: Literal["python", "shell", "http"]
    function: Text | None = Field(
        default=None, max_length=500, description="python: 'package.module.function'."
    )
    command: Command = Field(
        default=None,
        description="shell: a string is run with /bin/sh -c; a list is an argv (no shell).",
    )
    cwd: Text | None = Field(
        default=None, max_length=4096, description="shell: the absolute working directory."
    )
    env: dict[Annotated[Text, Field(max_length=128)], Annotated[str | dict[str, str], Checked]] = (
        Field(
            default_factory=dict,
            max_length=100,
            description='shell: extra environment variables, strings or {"$secret": "NAME"} '
            "(naming a secret needs admin in the namespace).",
        )
    )
    request: HttpRequestIn | None = Field(default=None, description="http: the request.")
    parameters: JsonObject = Field(
        default_factory=dict,
        description='A JSON object passed to the run; {"$secret": "NAME"} values need admin '
        "in the namespace.",
    )
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    worker_tags: list[Tag] = Field(default_factory=lambda: ["default"], max_length=10)
    timeout: float = Field(default=3600, gt=0, le=7 * 86400, description="Seconds.")
    retries: Count = Field(default=3, ge=0, le=100)
    retry_delay: float = Field(default=1, ge=0, le=86400, description="Seconds.")
    backoff: Literal["exponential", "fixed"] = "exponential"
    max_retry_delay: float = Field(default=300, ge=0, le=7 * 86400)
    start_deadline: float | None = Field(
        default=None,
        gt=0,
        le=7 * 86400,
        description="Seconds: not started by then, the run is marked missed.",
    )
    priority: Count = Field(default=50, ge=0, le=100)
    isolation: Literal["pool", "process"] = "pool"
    delivery: Literal["at_least_once", "at_most_once"] = "at_least_once"
    description: Text = Field(default="", max_length=2000)
    idempotency_key: Text | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="A repeat with the same key in the namespace answers the run it made "
        "(200) instead of queuing another; the Idempotency-Key header does the same.",
    )

    schedule: _Refused = None
    timezone: _Refused = None
    depends_on: _Refused = None
    calendar: _Refused = None
    calendar_policy: _Refused = None
    on_overlap: _Refused = None
    catchup: _Refused = None
    concurrency: _Refused = None
    jitter: _Refused = None
    enabled: _Refused = None
    retention_days: _Refused = None
    retention_runs: _Refused = None
    rate_limit: _Refused = None
    sla: _Refused = None
    expect_every: _Refused = None

    @field_validator(*JOB_ONLY, mode="before")
    @classmethod
    def _job_only(cls, value: Any, info: ValidationInfo) -> None:
        if value is None:
            return
        field = info.field_name or "body"
        raise PydanticCustomError("job_only", job_only_reason(field))

    def to_spec(self, namespace: str | None = None) -> JobSpec:
        """The definition as a job spec, checked under ``UNNAMED`` (``name`` is the label)."""
        job = JobIn.model_validate({"name": UNNAMED, **self.model_dump(include=set(_SPEC_FIELDS))})
        return job.to_spec(namespace)
