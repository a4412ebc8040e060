"""The execution layer of the worker: runs never execute inside the worker's own process.

python jobs run on a pool of children forked from a zygote, shell jobs in a session of their own
spawned by that zygote (which kills both if the worker dies), http jobs from one shared client.
See ``Executors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tickwork.worker.executors.base import (
    ExecutionRequest,
    ExecutionResult,
    OutputSink,
    RunContext,
)

if TYPE_CHECKING:
    from tickwork.worker.executors.facade import Executors


def __getattr__(name: str) -> Any:
    """``Executors`` loads on first use: the zygote and pool children import this package
    and should not pay for the http executor's client library."""
    if name == "Executors":
        from tickwork.worker.executors.facade import Executors

        return Executors
    raise AttributeError(f"module 'tickwork.worker.executors' has no attribute {name!r}")


__all__ = ["ExecutionRequest", "ExecutionResult", "Executors", "OutputSink", "RunContext"]
