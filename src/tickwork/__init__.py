"""tickwork: a distributed job scheduler for Python teams.

``import tickwork`` stays light (no FastAPI, no SQLAlchemy, no HTTP client until used):
``tickwork.job`` is the jobs-as-code decorator; ``tickwork.Client`` and
``tickwork.AsyncClient`` are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from tickwork.decorators import job

if TYPE_CHECKING:
    from tickwork.client.core import AsyncClient
    from tickwork.client.sync import Client

__all__ = ["AsyncClient", "Client", "__version__", "job"]


def __getattr__(name: str) -> Any:
    if name == "Client":
        from tickwork.client.sync import Client

        return Client
    if name == "AsyncClient":
        from tickwork.client.core import AsyncClient

        return AsyncClient
    raise AttributeError(f"module 'tickwork' has no attribute {name!r}")
