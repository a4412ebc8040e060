"""python jobs: run on a warm pool child, or on a fresh fork with ``isolation="process"``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from tickwork.worker.executors.base import (
    ExecutionRequest,
    ExecutionResult,
    OutputSink,
    RunControl,
    cancel_quietly,
    wait_outcome,
)
from tickwork.worker.executors.pool import Child, ChildDiedError, ChildPool
from tickwork.worker.executors.wire import encode_frame
from tickwork.worker.executors.zygote import Zygote

__all__ = ["PythonExecutor", "job_message"]


class _ChildSource(Protocol):
    def release(self, child: Child) -> None: ...
    def discard(self, child: Child) -> None: ...


class _OneShot:
    """Where an ``isolation="process"`` child goes after its single run: away."""

    def release(self, child: Child) -> None:
        child.kill()

    def discard(self, child: Child) -> None:
        child.kill()


def job_message(req: ExecutionRequest) -> dict[str, Any]:
    """What the child needs to run the job, as a JSON-able message."""
    return {
        "function": req.function,
        "parameters": dict(req.parameters),
        "ctx": {
            "run_id": req.run_id,
            "attempt": req.attempt,
            "fence": req.fence,
            "idempotency_key": req.idempotency_key,
            "env": dict(req.env),
        },
    }


class PythonExecutor:
    def __init__(
        self,
        *,
        pool_size: int,
        max_runs_per_child: int = 1000,
        max_memory_per_child: int | None = None,
        import_paths: Sequence[str] = (),
        preload: Sequence[str] = (),
    ) -> None:
        self.zygote = Zygote(import_paths=import_paths, preload=preload)
        self.pool = ChildPool(
            self.zygote,
            size=pool_size,
            max_runs=max_runs_per_child,
            max_memory_kb=max_memory_per_child,
        )

    async def start(self) -> None:
        await self.zygote.start()
        await self.pool.start()

    async def stop(self) -> None:
        await self.pool.stop()
        await self.zygote.stop()

    async def run(
        self, req: ExecutionRequest, on_output: OutputSink, control: RunControl
    ) -> ExecutionResult:
        if not req.function:
            return ExecutionResult.failed("python job has no function")
        try:
            frame = encode_frame(job_message(req))
        except (TypeError, ValueError) as exc:
            return ExecutionResult.failed(f"parameters are not JSON-serialisable: {exc}")
        source: _ChildSource = self.pool if req.isolation == "pool" else _OneShot()
        child = await self._child_for(req, source, control)
        if child is None:
            return ExecutionResult.stopped("cancelled", req.timeout)
        return await self._run_on(child, source, frame, req, on_output, control)

    async def _child_for(
        self, req: ExecutionRequest, source: _ChildSource, control: RunControl
    ) -> Child | None:
        """A child for this run, or None if the run was cancelled while waiting for one."""
        if req.isolation == "process":
            getting = asyncio.ensure_future(Child.spawn(self.zygote))
        else:
            getting = asyncio.ensure_future(self.pool.acquire())
        try:
            outcome = await wait_outcome(getting, None, control)
        finally:
            if not getting.done():
                getting.add_done_callback(lambda got: _return_unused(got, source))
                cancel_quietly(getting)
        return getting.result() if outcome == "done" else None

    @staticmethod
    async def _run_on(
        child: Child,
        source: _ChildSource,
        frame: bytes,
        req: ExecutionRequest,
        on_output: OutputSink,
        control: RunControl,
    ) -> ExecutionResult:
        reply = child.call(frame, on_output)
        try:
            outcome = await wait_outcome(reply, req.timeout, control)
        except BaseException:
            source.discard(child)
            raise
        if outcome != "done":
            await child.terminate(control.grace)
            source.discard(child)
            return ExecutionResult.stopped(outcome, req.timeout)
        try:
            message = reply.result()
        except ChildDiedError as exc:
            source.discard(child)
            return ExecutionResult.failed(str(exc), exit_code=exc.code)
        child.finish_run()
        child.peak_rss_kb = int(message.get("maxrss_kb") or 0)
        source.release(child)
        return _result(message)


def _return_unused(getting: asyncio.Future[Child], source: _ChildSource) -> None:
    """A child obtained for a run that was cancelled meanwhile goes back unused."""
    if not getting.cancelled() and getting.exception() is None:
        source.release(getting.result())


def _result(reply: dict[str, Any]) -> ExecutionResult:
    if reply["ok"]:
        return ExecutionResult(status="completed", exit_code=0, result=reply["result"])
    return ExecutionResult.failed(reply["error"], exit_code=1)
