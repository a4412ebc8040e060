"""python jobs: run on a warm pool child, or on a fresh fork with ``isolation="process"``;
an ``async def`` (pool isolation) runs as a coroutine on an async child, beside many others."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from tickwork.worker.executors.async_pool import AsyncChild, AsyncPool
from tickwork.worker.executors.base import (
    ExecutionRequest,
    ExecutionResult,
    OutputSink,
    RunControl,
    cancel_quietly,
    wait_outcome,
)
from tickwork.worker.executors.pool import Child, ChildDiedError, ChildPool, PoolUnavailableError
from tickwork.worker.executors.wire import encode_frame
from tickwork.worker.executors.zygote import Zygote

__all__ = ["AsyncSettings", "Kind", "PythonExecutor", "job_message"]

log = logging.getLogger(__name__)

Kind = Literal["async", "sync"]


@dataclass(frozen=True, slots=True)
class AsyncSettings:
    """How ``async def`` runs are hosted: at most ``per_child`` runs on one child's loop, at
    most ``max_children`` such children, a stall of the loop over ``stall_after`` s reported."""

    per_child: int = 500
    max_children: int = 1
    stall_after: float = 1.0


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
            "upstream": [dict(u) for u in req.upstream],
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
        asynchronous: AsyncSettings | None = None,
    ) -> None:
        self.zygote = Zygote(import_paths=import_paths, preload=preload)
        self.pool = ChildPool(
            self.zygote,
            size=pool_size,
            max_runs=max_runs_per_child,
            max_memory_kb=max_memory_per_child,
        )
        settings = asynchronous or AsyncSettings()
        self.async_pool = AsyncPool(
            self.zygote,
            per_child=settings.per_child,
            max_children=settings.max_children,
            max_runs=max_runs_per_child,
            stall_after=settings.stall_after,
        )
        self._kinds: dict[str, Kind] = {}
        """Whether each function run so far is an ``async def``, as the children import it."""

    async def start(self) -> None:
        await self.zygote.start()
        await self.pool.start()

    async def stop(self) -> None:
        await self.async_pool.stop()
        await self.pool.stop()
        await self.zygote.stop()

    def known_kind(self, function: str) -> Kind | None:
        return self._kinds.get(function)

    async def kind(self, function: str) -> Kind:
        """Whether ``function`` is an ``async def``, asked of an async child once (an import
        there); a function that cannot be imported counts as sync, where the failure is
        reported as always."""
        known = self._kinds.get(function)
        if known is not None:
            return known
        try:
            child = await self.async_pool.any_child()
            found: Kind = "async" if await child.kind(function) == "async" else "sync"
        except (ChildDiedError, PoolUnavailableError) as exc:
            log.warning("cannot tell whether %s is async (%s): run as sync", function, exc)
            return "sync"
        self._kinds[function] = found
        return found

    async def run(
        self, req: ExecutionRequest, on_output: OutputSink, control: RunControl
    ) -> ExecutionResult:
        if not req.function:
            return ExecutionResult.failed("python job has no function")
        try:
            frame = encode_frame(job_message(req))
        except (TypeError, ValueError) as exc:
            return ExecutionResult.failed(f"parameters are not JSON-serialisable: {exc}")
        if req.isolation == "pool" and await self.kind(req.function) == "async":
            return await self._run_async(req, on_output, control)
        source: _ChildSource = self.pool if req.isolation == "pool" else _OneShot()
        child = await self._child_for(req, source, control)
        if child is None:
            return ExecutionResult.stopped("cancelled", req.timeout)
        return await self._run_on(child, source, frame, req, on_output, control)

    async def _run_async(
        self, req: ExecutionRequest, on_output: OutputSink, control: RunControl
    ) -> ExecutionResult:
        getting = asyncio.ensure_future(self.async_pool.acquire())
        try:
            outcome = await wait_outcome(getting, None, control)
        finally:
            if not getting.done():
                getting.add_done_callback(self._unused_async)
                cancel_quietly(getting)
        if outcome != "done":
            return ExecutionResult.stopped("cancelled", req.timeout)
        child = getting.result()
        reply = child.start(req.run_id, job_message(req), on_output)
        try:
            outcome = await wait_outcome(reply, req.timeout, control)
            if outcome != "done":
                await self._stop_async(child, req.run_id, reply, control.grace)
                return ExecutionResult.stopped(outcome, req.timeout)
            try:
                return _result(reply.result())
            except ChildDiedError as exc:
                return ExecutionResult.failed(str(exc), exit_code=exc.code)
        finally:
            self.async_pool.finished(child)

    def _unused_async(self, getting: asyncio.Future[AsyncChild]) -> None:
        if not getting.cancelled() and getting.exception() is None:
            self.async_pool.unused(getting.result())

    async def _stop_async(
        self, child: AsyncChild, run_id: str, reply: asyncio.Future[Any], grace: float
    ) -> None:
        """Cancel one run's task; a run that does not end within ``grace`` (its loop blocked,
        or it ignores the cancel) takes its child down, and the runs sharing it fail."""
        child.cancel(run_id)
        try:
            await asyncio.wait_for(asyncio.shield(reply), grace)
        except TimeoutError:
            log.warning(
                "run %s did not stop within %gs of its cancel: killing python child %d and "
                "the %d runs it hosts",
                run_id,
                grace,
                child.pid,
                child.load,
            )
            self.async_pool.discard(child)
        except ChildDiedError:
            pass
        if reply.done() and not reply.cancelled():
            reply.exception()  # retrieved

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
