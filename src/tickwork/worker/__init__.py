"""The worker: registers with a coordinator over HTTP, claims runs, executes them, reports.

It never touches the database: everything goes through ``tickwork.client``.
The names below load on first use, so the executors' zygote and pool children (which
import this package) do not pay for the HTTP client and the runtime.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tickwork.worker.main import run_worker
    from tickwork.worker.options import WorkerOptions
    from tickwork.worker.runtime import Worker

__all__ = ["Worker", "WorkerOptions", "run_worker"]
_WHERE = {"Worker": "runtime", "WorkerOptions": "options", "run_worker": "main"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"tickwork.worker.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'tickwork.worker' has no attribute {name!r}")
