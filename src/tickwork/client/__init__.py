"""HTTP clients of the coordinator: ``AsyncClient`` / ``Client`` for people and scripts, and
the worker protocol client the worker uses.

``AsyncClient``, ``Client`` and ``DEFAULT_SERVER`` are imported on first use, so a worker that
needs only the protocol client does not load the user-facing one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tickwork.client.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ClientError,
    ConflictError,
    FieldError,
    ForbiddenError,
    NotFoundError,
    NotRegisteredError,
    ServerError,
    StaleFenceError,
    UnreachableError,
    ValidationError,
)
from tickwork.client.http import (
    ApiTransport,
    RetryPolicy,
    error_from_response,
    typed_error_from_response,
)
from tickwork.client.worker_protocol import WorkerProtocolClient

if TYPE_CHECKING:
    from tickwork.client.core import DEFAULT_SERVER, AsyncClient
    from tickwork.client.sync import Client

__all__ = [
    "DEFAULT_SERVER",
    "ApiError",
    "ApiTransport",
    "AsyncClient",
    "AuthError",
    "BadRequestError",
    "Client",
    "ClientError",
    "ConflictError",
    "FieldError",
    "ForbiddenError",
    "NotFoundError",
    "NotRegisteredError",
    "RetryPolicy",
    "ServerError",
    "StaleFenceError",
    "UnreachableError",
    "ValidationError",
    "WorkerProtocolClient",
    "error_from_response",
    "typed_error_from_response",
]


_LAZY = {"AsyncClient": "core", "DEFAULT_SERVER": "core", "Client": "sync"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"tickwork.client.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'tickwork.client' has no attribute {name!r}")
