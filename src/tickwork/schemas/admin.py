"""Wire models of tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tickwork.domain.records import TokenRecord
from tickwork.schemas.fields import Count, Tag, Text


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200)
    role: Literal["viewer", "operator", "admin", "worker"] | None = Field(
        default=None, description="One role in every namespace (or give scopes)."
    )
    scopes: dict[Annotated[Text, Field(max_length=63)], Text] | None = Field(
        default=None,
        max_length=100,
        description='A role per namespace, "*" for every other: {"payments": "operator", '
        '"*": "viewer"}. A token naming no "*" sees only its namespaces.',
        examples=[{"payments": "operator", "*": "viewer"}],
    )
    worker_tags: list[Tag] | None = Field(
        default=None,
        max_length=10,
        description="A worker using this token may register only with these tags.",
    )
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)
    rate_limit: Count | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Requests per second the token may make, over every coordinator (shared "
        "through Redis when configured); over it, 429 rate_limited with Retry-After. Unset: "
        "the server's TICKWORK_API_RATE_LIMIT.",
    )


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    role: str = Field(description="The '*' role, or the highest role the token holds.")
    scopes: dict[str, str] | None = Field(description="Roles per namespace (null: role in all).")
    worker_tags: list[str] | None
    rate_limit: int | None = Field(description="Requests per second (null: the server's).")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, t: TokenRecord) -> TokenOut:
        return cls.model_validate(t)


class TokenCreated(TokenOut):
    token: str = Field(description="The secret: shown once, stored only as a hash.")


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str | None
    action: str
    target: str | None
    namespace: str | None = Field(
        description="The namespace of the job created, or the one a job name was looked up in."
    )
    details: dict[str, object]


class PruneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(
        default=False, description="Count what the retention policy would remove; delete nothing."
    )


class PruneCountsOut(BaseModel):
    runs: int = Field(description="Runs, with their attempts, output and resolved dead letters.")
    output: int = Field(description="Attempts whose stdout and stderr were cleared.")
    audit: int
    workers: int
    events: int = Field(description="Event rows (a row may hold one transaction's events).")
    pipeline_runs: int = Field(
        default=0,
        description="Finished pipeline runs past the runs' age limit (never a pipeline's "
        "latest); their task runs go by the runs' own rules.",
    )


class RetentionOut(BaseModel):
    runs_days: float
    output_days: float
    audit_days: float
    workers_days: float
    events_hours: float


class PruneOut(BaseModel):
    dry_run: bool
    pruned: PruneCountsOut = Field(description="Removed, or with dry_run: would be removed now.")
    more: bool = Field(
        description="A backlog remains after this call's time budget (call again, or let the "
        "background pass carry on)."
    )
    policy: RetentionOut
