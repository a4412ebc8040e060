"""``Executors``: the one object the worker uses to run an attempt, whatever its job type."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from tickwork.worker.executors.base import (
    ExecutionRequest,
    ExecutionResult,
    OutputSink,
    RunControl,
    Slot,
)
from tickwork.worker.executors.http import HttpExecutor
from tickwork.worker.executors.python import AsyncSettings, PythonExecutor
from tickwork.worker.executors.shell import ShellExecutor
from tickwork.worker.waiting import set_within

__all__ = ["Executors"]

log = logging.getLogger(__name__)

_STOP_WAIT = 5.0
"""How long ``stop()`` waits for the runs it killed to report back."""


class Executors:
    """Runs attempts outside the worker's process: python on a pre-forked pool, shell in its own
    session (both started by the zygote, which kills them if the worker dies), http from one
    shared client. ``execute`` never raises for a job's failure."""

    def __init__(
        self,
        *,
        pool_size: int,
        max_runs_per_child: int = 1000,
        grace_period: float = 10.0,
        import_paths: Sequence[str] = (),
        preload: Sequence[str] = (),
        max_memory_per_child: int | None = None,
        asynchronous: AsyncSettings | None = None,
    ) -> None:
        """``max_memory_per_child`` is in KiB of peak RSS (as Celery's setting of that name): a
        child that grew past it is replaced after its run."""
        self.grace_period = grace_period
        self.python = PythonExecutor(
            pool_size=pool_size,
            max_runs_per_child=max_runs_per_child,
            max_memory_per_child=max_memory_per_child,
            import_paths=import_paths,
            preload=preload,
            asynchronous=asynchronous,
        )
        self.shell = ShellExecutor(self.python.zygote)  # so that no shell outlives the worker
        self.http = HttpExecutor()
        self._active: dict[str, RunControl] = {}
        self._drained = asyncio.Event()
        self._drained.set()
        self._stopped = False

    @property
    def active_runs(self) -> list[str]:
        return list(self._active)

    async def start(self) -> None:
        """Start the zygote and pre-fork the python pool."""
        self._stopped = False
        await self.python.start()

    async def stop(self) -> None:
        """Kill every run still going (no grace), then the pool, the zygote and the client."""
        self._stopped = True
        for control in self._active.values():
            control.cancel(grace=0)
        if not await set_within(self._drained, _STOP_WAIT):
            log.warning("runs still reporting after stop: %s", ", ".join(self._active))
        await self.python.stop()
        await self.http.stop()

    def known_slot(self, job_type: str, function: str | None, isolation: str) -> Slot | None:
        """The slot a run needs, if known without asking a child (see ``slot``)."""
        if job_type == "shell" or (job_type == "python" and isolation == "process"):
            return "process"
        if job_type != "python" or not function:
            return "loop"  # http, or a run that fails at once
        kind = self.python.known_kind(function)
        if kind is None:
            return None
        return "async" if kind == "async" else "process"

    async def slot(self, job_type: str, function: str | None, isolation: str) -> Slot:
        """The slot a run needs; for a python function not seen before, an async child is
        asked whether it is an ``async def``."""
        known = self.known_slot(job_type, function, isolation)
        if known is not None or function is None:
            return known or "loop"
        return "async" if await self.python.kind(function) == "async" else "process"

    async def execute(self, req: ExecutionRequest, on_output: OutputSink) -> ExecutionResult:
        if self._stopped:
            return ExecutionResult.failed("the executors are stopped")
        if req.run_id in self._active:
            return ExecutionResult.failed(f"run {req.run_id} is already executing here")
        control = RunControl(self.grace_period)
        self._active[req.run_id] = control
        self._drained.clear()
        try:
            return await self._dispatch(req, on_output, control)
        except Exception as exc:
            log.exception("executor error in run %s", req.run_id)
            return ExecutionResult.failed(f"executor error: {type(exc).__name__}: {exc}")
        finally:
            del self._active[req.run_id]
            if not self._active:
                self._drained.set()

    async def cancel(self, run_id: str, *, grace: float | None = None) -> bool:
        """Stop a run: SIGTERM its process group, SIGKILL after the grace period (or ``grace``
        if shorter).

        False if no such run is executing here. ``execute`` then returns "cancelled".
        """
        control = self._active.get(run_id)
        if control is None:
            return False
        control.cancel(grace=grace)
        return True

    async def _dispatch(
        self, req: ExecutionRequest, on_output: OutputSink, control: RunControl
    ) -> ExecutionResult:
        if req.job_type == "python":
            return await self.python.run(req, on_output, control)
        if req.job_type == "shell":
            return await self.shell.run(req, on_output, control)
        if req.job_type == "http":
            return await self.http.run(req, on_output, control)
        return ExecutionResult.failed(f"unknown job type {req.job_type!r}")
