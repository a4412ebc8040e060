"""The one shape of every error answer: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(description="Stable and machine-readable: not_found, stale_fence, …")
    message: str = Field(description="For a person: what went wrong and, where it helps, why.")
    details: Any = Field(
        default=None,
        description="validation_error: a list of {field, message}; others: context or null.",
    )


class ErrorOut(BaseModel):
    error: ErrorBody
