"""Wire models of bulk actions on runs and dead letters, and of dead-letter groups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tickwork.domain.queries import DeadLetterGroup
from tickwork.schemas.fields import Text

MAX_BULK_IDS = 1000
"""The most ids one bulk call may name (a filter has no such limit)."""

Id = Annotated[Text, Field(min_length=1, max_length=40)]
JobRef = Annotated[Text, Field(min_length=1, max_length=200, description="Job id or name.")]
Status = Literal["queued", "running", "completed", "failed", "cancelled", "missed"]


class RunFilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: JobRef | None = None
    status: list[Status] | None = Field(
        default=None,
        min_length=1,
        max_length=6,
        description="bulk-cancel: queued and/or running (both if left out); "
        "bulk-retry: failed (the default).",
    )


class BulkRunsIn(BaseModel):
    """Exactly one of ``ids`` and ``filter``."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Id] | None = Field(default=None, min_length=1, max_length=MAX_BULK_IDS)
    filter: RunFilterIn | None = None


class DeadLetterFilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: JobRef | None = None
    error: Text | None = Field(
        default=None,
        max_length=200,
        description="An error summary, exactly as the groups list says it; null selects "
        "entries that have none.",
    )


class DeadLettersBulkIn(BaseModel):
    """Exactly one of ``ids`` and ``filter``; only open dead letters are acted on."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["replay", "resolve"]
    note: Text | None = Field(default=None, max_length=1000)
    ids: list[Id] | None = Field(default=None, min_length=1, max_length=MAX_BULK_IDS)
    filter: DeadLetterFilterIn | None = None


class BulkCountOut(BaseModel):
    count: int = Field(description="How many runs or dead letters the action changed.")


class DeadLetterGroupOut(BaseModel):
    job_id: str
    job_name: str
    error_summary: str | None
    count: int
    latest_at: datetime

    @classmethod
    def of(cls, g: DeadLetterGroup) -> DeadLetterGroupOut:
        return cls(
            job_id=g.job_id,
            job_name=g.job_name,
            error_summary=g.error_summary,
            count=g.count,
            latest_at=g.latest_at,
        )


class DeadLetterGroupList(BaseModel):
    items: list[DeadLetterGroupOut]
