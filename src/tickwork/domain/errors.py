"""Errors the domain raises; the API maps each to one HTTP status and a JSON body."""

from __future__ import annotations

from typing import Any


class TickworkError(Exception):
    """Base of every error tickwork reports to a caller."""

    code: str = "error"
    status: int = 400

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationError(TickworkError):
    """Bad input: names the offending field (dotted path) and why."""

    code = "validation_error"
    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details=[{"field": field, "message": message}])
        self.field = field
        self.reason = message


class NotFound(TickworkError):
    code = "not_found"
    status = 404


class Conflict(TickworkError):
    code = "conflict"
    status = 409


class CycleError(Conflict):
    """A dependency cycle; ``path`` lists job names from the start back to it."""

    code = "dependency_cycle"

    def __init__(self, path: list[str]) -> None:
        super().__init__("dependency cycle: " + " → ".join(path), details={"cycle": path})
        self.path = path


class StaleFence(Conflict):
    """A worker report whose fence no longer owns the run."""

    code = "stale_fence"


class Unavailable(TickworkError):
    """A backend the answer needs (the database) does not answer now; nothing was changed
    unless the connection broke at commit. Try again after ``retry_after`` seconds."""

    code = "unavailable"
    status = 503

    def __init__(self, message: str, *, retry_after: int = 2) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class Unauthorized(TickworkError):
    code = "unauthorized"
    status = 401


class Forbidden(TickworkError):
    code = "forbidden"
    status = 403


class RateLimited(TickworkError):
    """A caller over its request rate: try again after ``retry_after`` seconds."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int = 1, details: Any = None) -> None:
        super().__init__(message, details={"retry_after": retry_after, **(details or {})})
        self.retry_after = retry_after
