"""Errors raised by tickwork's HTTP clients, mapped from the API's ``{"error": {...}}`` bodies.

Every error answer is an ``ApiError`` (``status``, ``code``, ``message``, ``details``). The
user-facing client raises the subclass for its status, so callers can catch what they mean::

    ApiError
    ├── BadRequestError        400
    ├── AuthError              401  (no or a bad token: set TICKWORK_TOKEN)
    │   └── ForbiddenError     403  (the token's role may not do this)
    ├── NotFoundError          404
    │   └── NotRegisteredError       (worker protocol: register again)
    ├── ConflictError          409  (name taken, dependency cycle, dependents)
    │   └── StaleFenceError          (worker protocol: the run moved on)
    ├── ValidationError        422  (``fields``: which field and why)
    └── ServerError            5xx
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ApiError",
    "AuthError",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "FieldError",
    "ForbiddenError",
    "NotFoundError",
    "NotRegisteredError",
    "ServerError",
    "StaleFenceError",
    "UnreachableError",
    "ValidationError",
]


class ClientError(Exception):
    """Base of every error a tickwork client raises."""


class ApiError(ClientError):
    """The coordinator answered with an error status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after
        """Seconds the server asked the client to wait (``Retry-After`` on 503 and 429)."""


class BadRequestError(ApiError):
    """400: the request could not be read (e.g. malformed JSON)."""


class AuthError(ApiError):
    """401: no token, or a token that is unknown, expired or revoked."""


class ForbiddenError(AuthError):
    """403: the token is valid but its role may not do this."""


class NotFoundError(ApiError):
    """404: no such job, run, dead letter, token or worker."""


class ConflictError(ApiError):
    """409: the name is taken, a dependency cycle, dependents exist, a run in the wrong state."""


class ServerError(ApiError):
    """5xx: the coordinator (or a proxy in front of it) failed. 503 ``unavailable``: the
    coordinator is up but its database is not; ``retry_after`` says when to try again."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One rejected field: a dotted path (``request.url``) and the reason."""

    field: str
    message: str


class ValidationError(ApiError):
    """422: bad input; ``fields`` names every field at fault."""

    @property
    def fields(self) -> list[FieldError]:
        items = self.details if isinstance(self.details, list) else []
        return [
            FieldError(str(d.get("field", "")), str(d.get("message", "")))
            for d in items
            if isinstance(d, dict)
        ]


class StaleFenceError(ConflictError):
    """409 ``stale_fence``: the run moved on (another attempt owns it); kill this one."""


class NotRegisteredError(NotFoundError):
    """404 on a worker endpoint: the coordinator forgot this worker; register again."""


class UnreachableError(ClientError):
    """No answer from the coordinator after the retries allowed for this request.

    ``maybe_applied`` is True when the request may have reached the server before the
    connection broke (so a non-idempotent request must not be repeated blindly).
    """

    def __init__(self, message: str, *, maybe_applied: bool) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied


STATUS_TYPES: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
}
"""HTTP status → exception class for the user-facing client (5xx: ``ServerError``)."""


def error_type(status: int, code: str) -> type[ApiError]:
    """The most specific class for an error answer."""
    if code == "stale_fence":
        return StaleFenceError
    if status >= 500:
        return ServerError
    return STATUS_TYPES.get(status, ApiError)
