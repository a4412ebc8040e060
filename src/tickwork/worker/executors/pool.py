"""The worker's side of the python pool: handles on forked children and the pool that keeps them.

A child is used by one run at a time. After a run it goes back to the pool, unless it has served
``max_runs`` runs or its peak memory passed ``max_memory_kb``: then it is retired and replaced. A
child that was killed (timeout, cancel) or died is discarded and replaced in the background, so
the pool stays full.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from tickwork.worker.executors.base import OutputSink
from tickwork.worker.executors.output import OutputPair
from tickwork.worker.executors.process import describe_exit, kill_group, terminate_group
from tickwork.worker.executors.wire import read_frame
from tickwork.worker.executors.zygote import Zygote

__all__ = [
    "Child",
    "ChildDiedError",
    "ChildPool",
    "PoolUnavailableError",
    "Streams",
    "fork",
    "known_code",
]

log = logging.getLogger(__name__)

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]

_EXIT_STATUS_WAIT = 2.0
"""After the control socket closes, how long to wait for the zygote to report the exit status."""


class ChildDiedError(RuntimeError):
    def __init__(self, code: int | None) -> None:
        how = "exit status unknown" if code is None else describe_exit(code)
        super().__init__(f"the python child process died during the run ({how})")
        self.code = code


class PoolUnavailableError(RuntimeError):
    """No child could be started."""


class Child:
    """One forked child: its control stream, its output pipes and the future of its exit code.

    A reader task per child (not per run) turns each reply frame into the result of the current
    ``call``, or fails it with ``ChildDiedError`` when the socket closes or the zygote reports the
    exit — whichever comes first (a grandchild may hold the socket open after the child is gone).
    """

    def __init__(
        self,
        pid: int,
        exited: asyncio.Future[int],
        streams: Streams,
        output: OutputPair,
    ) -> None:
        self.pid = pid
        self.exited = exited
        self.runs = 0
        self.peak_rss_kb = 0
        self._reader, self._writer = streams
        self._output = output
        self._broken = False
        self._reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._reading = asyncio.create_task(self._read_loop())
        exited.add_done_callback(self._on_exit)

    @classmethod
    async def spawn(cls, zygote: Zygote) -> Child:
        """Fork a child from the zygote and wait until it says it is ready."""
        pid, exited, streams, output = await fork(zygote)
        child = cls(pid, exited, streams, output)
        output.start()
        try:
            await child._reply  # the child's "ready"
        except BaseException:
            child.kill()
            raise
        return child

    @property
    def alive(self) -> bool:
        return not self._broken and not self.exited.done()

    def call(self, frame: bytes, sink: OutputSink) -> asyncio.Future[dict[str, Any]]:
        """Send one job; the future of its reply. Call ``finish_run`` once it is done."""
        self.runs += 1
        self._output.set_sink(sink)
        self._reply = asyncio.get_running_loop().create_future()
        self._writer.write(frame)
        return self._reply

    def finish_run(self) -> None:
        """Deliver the output written before the reply, then detach the run's sink."""
        self._output.finish_run()

    async def terminate(self, grace: float) -> None:
        if not self.exited.done():
            await terminate_group(self.pid, grace)

    def kill(self) -> None:
        """SIGKILL the child's group (stray grandchildren too) and let go of its pipes.

        Also after the child died: the group id stays reserved while any member lives, so the
        signal reaches leftovers of this run and nobody else.
        """
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

    async def _read_loop(self) -> None:
        try:
            while True:
                frame = await read_frame(self._reader)
                if not self._reply.done():
                    self._reply.set_result(frame)
        except (asyncio.IncompleteReadError, OSError):
            self._broken = True
        self._fail(ChildDiedError(await self._exit_code()))

    def _on_exit(self, exited: asyncio.Future[int]) -> None:
        self._broken = True
        self._fail(ChildDiedError(known_code(exited)))

    def _fail(self, error: ChildDiedError) -> None:
        if not self._reply.done():
            self._reply.set_exception(error)
            self._reply.exception()  # retrieved: nobody may be waiting (an idle child died)

    async def _exit_code(self) -> int | None:
        try:
            return await asyncio.wait_for(asyncio.shield(self.exited), _EXIT_STATUS_WAIT)
        except TimeoutError:
            return None


async def fork(
    zygote: Zygote, *, stall_after: float | None = None
) -> tuple[int, asyncio.Future[int], Streams, OutputPair]:
    """Fork a python child (an async one given ``stall_after``): its pid, the future of its
    exit code, its control stream and its output pipes (not watched yet)."""
    ours, theirs = socket.socketpair()
    output = OutputPair()
    pid: int | None = None
    try:
        try:
            pid, exited = await zygote.spawn(
                [theirs.fileno(), *output.write_fds], stall_after=stall_after
            )
        finally:
            theirs.close()
            output.close_write_ends()
        return pid, exited, await asyncio.open_unix_connection(sock=ours), output
    except BaseException:
        if pid is not None:
            kill_group(pid)
        ours.close()
        output.close()
        raise


def known_code(exited: asyncio.Future[int]) -> int | None:
    return exited.result() if exited.done() and not exited.cancelled() else None


class ChildPool:
    """``size`` warm children; ``acquire`` waits for an idle one."""

    def __init__(
        self, zygote: Zygote, *, size: int, max_runs: int, max_memory_kb: int | None = None
    ) -> None:
        if size < 1 or max_runs < 1:
            raise ValueError("pool size and max runs per child must be at least 1")
        self._zygote = zygote
        self._size = size
        self._max_runs = max_runs
        self._max_memory_kb = max_memory_kb
        self._idle: asyncio.Queue[Child | BaseException] = asyncio.Queue()
        self._live: set[Child] = set()
        self._spawning = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def pids(self) -> list[int]:
        """Pids of the live children (idle or busy)."""
        return sorted(child.pid for child in self._live if child.alive)

    async def start(self) -> None:
        self._closed = False
        self._refill()
        await asyncio.gather(*self._tasks)
        if failures := self._take_failures():
            raise PoolUnavailableError(f"could not start the python pool: {failures[0]}")

    async def acquire(self) -> Child:
        while True:
            self._refill()
            item = await self._idle.get()
            if isinstance(item, BaseException):
                raise PoolUnavailableError(f"no python child available: {item}") from item
            if item.alive:
                return item
            self.discard(item)

    def release(self, child: Child) -> None:
        if self._closed or not child.alive or self._worn_out(child):
            self.discard(child)
        else:
            self._idle.put_nowait(child)

    def discard(self, child: Child) -> None:
        """Kill (if need be) and forget a child; a replacement is started in the background."""
        child.kill()
        self._live.discard(child)
        self._refill()

    async def stop(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for child in list(self._live):
            child.kill()
        self._live.clear()
        self._idle = asyncio.Queue()

    def _worn_out(self, child: Child) -> bool:
        if child.runs >= self._max_runs:
            return True
        return self._max_memory_kb is not None and child.peak_rss_kb > self._max_memory_kb

    def _refill(self) -> None:
        while not self._closed and len(self._live) + self._spawning < self._size:
            self._spawning += 1
            task = asyncio.create_task(self._spawn_one())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _spawn_one(self) -> None:
        try:
            child = await Child.spawn(self._zygote)
        except Exception as exc:
            log.warning("could not start a python child: %s", exc)
            self._idle.put_nowait(exc)
        else:
            self._live.add(child)
            self._idle.put_nowait(child)
        finally:
            self._spawning -= 1

    def _take_failures(self) -> list[BaseException]:
        """Remove the spawn failures from the idle queue, keep the children in it."""
        items = [self._idle.get_nowait() for _ in range(self._idle.qsize())]
        for item in items:
            if isinstance(item, Child):
                self._idle.put_nowait(item)
        return [item for item in items if isinstance(item, BaseException)]
