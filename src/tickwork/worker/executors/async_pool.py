"""The worker's side of the async children: each hosts many ``async def`` runs on its event loop.

An ``AsyncChild`` multiplexes runs over one control stream (the frames of ``child_async``): a
reader task per child routes each frame to its run — output to the run's sink (so the worker
masks it as any other run's), the result to the run's future, a stall (the loop blocked) to
the worker's log and to the run's stderr. When the child dies, every run it hosted fails.

``AsyncPool`` starts children on demand and gives a run the least-loaded one with room (at most
``per_child`` runs each); a child that has started ``max_runs`` runs takes no more and goes
away once its last run ends, and a replacement is started when one is needed (a retiring
child does not count toward ``max_children``: its last runs may sleep for long).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from tickwork.worker.executors.base import OutputSink, Stream, deliver
from tickwork.worker.executors.output import OutputPair
from tickwork.worker.executors.pool import (
    ChildDiedError,
    PoolUnavailableError,
    Streams,
    fork,
    known_code,
)
from tickwork.worker.executors.process import kill_group
from tickwork.worker.executors.wire import encode_frame, read_frame
from tickwork.worker.executors.zygote import Zygote

__all__ = ["AsyncChild", "AsyncPool"]

log = logging.getLogger(__name__)

_EXIT_STATUS_WAIT = 2.0


class AsyncChild:
    """One async child: its runs by id, each with its sink and the future of its reply."""

    def __init__(
        self, pid: int, exited: asyncio.Future[int], streams: Streams, output: OutputPair
    ) -> None:
        self.pid = pid
        self.exited = exited
        self.started = 0
        self.reserved = 0
        """Runs given this child that have not started on it yet."""
        self.retiring = False
        self._reader, self._writer = streams
        self._output = output
        self._runs: dict[str, tuple[asyncio.Future[dict[str, Any]], OutputSink]] = {}
        self._kinds: dict[str, asyncio.Future[str]] = {}
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._broken = False
        self._reading = asyncio.create_task(self._read_loop())
        exited.add_done_callback(self._on_exit)

    @classmethod
    async def spawn(cls, zygote: Zygote, *, stall_after: float) -> AsyncChild:
        pid, exited, streams, output = await fork(zygote, stall_after=stall_after)
        child = cls(pid, exited, streams, output)
        output.start(child._child_output)
        try:
            await child._ready
        except BaseException:
            child.kill()
            raise
        return child

    @property
    def alive(self) -> bool:
        return not self._broken and not self.exited.done()

    @property
    def load(self) -> int:
        return len(self._runs) + self.reserved

    def start(
        self, run_id: str, message: dict[str, Any], sink: OutputSink
    ) -> asyncio.Future[dict[str, Any]]:
        """Start a run here; the future of its reply (``ChildDiedError`` if the child dies)."""
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.reserved = max(0, self.reserved - 1)
        if not self.alive:
            reply.set_exception(ChildDiedError(known_code(self.exited)))
            return reply
        self.started += 1
        self._runs[run_id] = (reply, sink)
        self._writer.write(encode_frame({"op": "run", "id": run_id, **message}))
        return reply

    def cancel(self, run_id: str) -> None:
        if run_id in self._runs and self.alive:
            self._writer.write(encode_frame({"op": "cancel", "id": run_id}))

    async def kind(self, function: str) -> str:
        """Whether ``function`` is an ``async def`` ("async") or not ("sync"), as this child
        imports it."""
        waiting = self._kinds.get(function)
        if waiting is None:
            waiting = self._kinds[function] = asyncio.get_running_loop().create_future()
            self._writer.write(encode_frame({"op": "kind", "function": function}))
        return await asyncio.shield(waiting)

    def kill(self) -> None:
        """SIGKILL the child's group; every run it hosted fails."""
        kill_group(self.pid)
        self.close()

    def close(self) -> None:
        self._broken = True
        self.exited.remove_done_callback(self._on_exit)
        if self._reading is not asyncio.current_task():
            self._reading.cancel()
        self._fail(ChildDiedError(known_code(self.exited)))
        self._writer.close()
        self._output.close()

    # -- frames from the child -----------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            while True:
                self._dispatch(await read_frame(self._reader))
        except (asyncio.IncompleteReadError, OSError):
            self._broken = True
        self._fail(ChildDiedError(await self._exit_code()))

    def _dispatch(self, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if op == "out":
            self._output_of(frame)
        elif op == "done":
            reply, _ = self._runs.pop(frame["id"], (None, None))
            if reply is not None and not reply.done():
                reply.set_result(frame)
        elif op == "stall":
            self._stalled(frame.get("id"), float(frame["seconds"]))
        elif op == "kind":
            waiting = self._kinds.get(frame["function"])
            if waiting is not None and not waiting.done():
                waiting.set_result(frame["kind"])
        elif op == "ready" and not self._ready.done():
            self._ready.set_result(None)

    def _output_of(self, frame: dict[str, Any]) -> None:
        run = self._runs.get(frame["id"])
        stream: Stream = "stderr" if frame["stream"] == "stderr" else "stdout"
        if run is not None:
            deliver(run[1], stream, frame["text"])

    def _stalled(self, run_id: str | None, seconds: float) -> None:
        who = f"run {run_id}" if run_id else "code outside any run"
        log.warning(
            "%s blocked the event loop of python child %d for %.2fs (%d runs share it): "
            "a blocking call inside an async def?",
            who,
            self.pid,
            seconds,
            self.load,
        )
        run = self._runs.get(run_id) if run_id else None
        if run is not None:
            note = (
                f"[tickwork] warning: this run blocked its event loop for {seconds:.2f}s "
                "(a blocking call inside an async def?); the other runs sharing it waited\n"
            )
            deliver(run[1], "stderr", note)

    def _child_output(self, stream: Stream, text: str) -> None:
        """What the child wrote outside any run (or to its descriptors directly)."""
        for line in text.rstrip("\n").splitlines():
            log.warning("python child %d %s: %s", self.pid, stream, line)

    def _on_exit(self, exited: asyncio.Future[int]) -> None:
        self._broken = True
        self._fail(ChildDiedError(known_code(exited)))

    def _fail(self, error: ChildDiedError) -> None:
        runs, self._runs = self._runs, {}
        for reply, _ in runs.values():
            if not reply.done():
                reply.set_exception(error)
        for waiting in self._kinds.values():
            if not waiting.done():
                waiting.set_exception(error)
                waiting.exception()  # retrieved: the asker may be gone
        if not self._ready.done():
            self._ready.set_exception(error)

    async def _exit_code(self) -> int | None:
        try:
            return await asyncio.wait_for(asyncio.shield(self.exited), _EXIT_STATUS_WAIT)
        except TimeoutError:
            return None


class AsyncPool:
    """Async children started on demand, each hosting up to ``per_child`` runs at once."""

    def __init__(
        self,
        zygote: Zygote,
        *,
        per_child: int,
        max_children: int,
        max_runs: int,
        stall_after: float,
    ) -> None:
        if per_child < 1 or max_children < 1 or max_runs < 1:
            raise ValueError("runs per async child, async children and max runs must be >= 1")
        if stall_after <= 0:
            raise ValueError("stall_after must be more than 0 seconds")
        self.per_child = per_child
        self._zygote = zygote
        self._max_children = max_children
        self._max_runs = max_runs
        self._stall_after = stall_after
        self._children: list[AsyncChild] = []
        self._spawning = asyncio.Lock()
        self._freed = asyncio.Event()
        self._closed = False

    @property
    def pids(self) -> list[int]:
        return sorted(c.pid for c in self._children if c.alive)

    @property
    def load(self) -> int:
        return sum(c.load for c in self._children)

    async def acquire(self) -> AsyncChild:
        """The least-loaded child with room (started if need be, or waited for), with a place
        reserved for the run until it starts there (or ``unused``)."""
        child = await self._find()
        child.reserved += 1
        return child

    async def any_child(self) -> AsyncChild:
        """A child to ask something of (no place reserved): any live one, else a new one."""
        for child in self._children:
            if child.alive:
                return child
        return await self._find()

    def unused(self, child: AsyncChild) -> None:
        """A run given ``child`` will not start there after all."""
        child.reserved = max(0, child.reserved - 1)
        self.finished(child)

    async def _find(self) -> AsyncChild:
        while True:
            child = self._with_room()
            if child is not None:
                return child
            async with self._spawning:
                child = self._with_room()
                if child is not None:
                    return child
                serving = [c for c in self._children if not c.retiring]
                if len(serving) < self._max_children:  # retiring ones do not count
                    return await self._spawn()
            self._freed.clear()
            await self._freed.wait()

    def finished(self, child: AsyncChild) -> None:
        """One of ``child``'s runs ended: retire it if it is worn out and idle."""
        if child.started >= self._max_runs:
            child.retiring = True
        if not child.alive or (child.retiring and child.load == 0):
            self.discard(child)
        self._freed.set()

    def discard(self, child: AsyncChild) -> None:
        """Kill a child (its runs fail) and forget it."""
        child.kill()
        with contextlib.suppress(ValueError):
            self._children.remove(child)
        self._freed.set()

    async def stop(self) -> None:
        self._closed = True
        for child in list(self._children):
            child.kill()
        self._children.clear()

    def _with_room(self) -> AsyncChild | None:
        if self._closed:
            raise PoolUnavailableError("the async pool is stopped")
        for child in [c for c in self._children if not c.alive]:
            self.discard(child)
        open_ = [c for c in self._children if not c.retiring and c.load < self.per_child]
        return min(open_, key=lambda c: c.load, default=None)

    async def _spawn(self) -> AsyncChild:
        try:
            child = await AsyncChild.spawn(self._zygote, stall_after=self._stall_after)
        except Exception as exc:
            raise PoolUnavailableError(f"could not start an async python child: {exc}") from exc
        self._children.append(child)
        return child
