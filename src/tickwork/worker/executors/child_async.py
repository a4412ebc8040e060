"""The async pool child: one event loop hosting many ``async def`` runs at once.

Forked by the zygote like a python pool child (``child``), it runs until the worker hangs up.
Frames on the control socket (length-prefixed JSON, ``wire``), many runs interleaved:

  worker → child  {"op": "run", "id", "function", "parameters", "ctx"}   start a run (a task)
                  {"op": "cancel", "id"}                                  cancel its task
                  {"op": "kind", "function"}      is it an ``async def``? (imports it here)
  child → worker  {"op": "ready", "pid"} once; {"op": "kind", "function", "kind"}
                  {"op": "out", "id", "stream", "text"}   a run's output, as it is written
                  {"op": "stall", "id", "seconds"}        the loop was blocked by that run
                  {"op": "done", "id", "ok", "result" | "error", "cancelled"?, "maxrss_kb"}

Output is told apart by run: ``sys.stdout`` and ``sys.stderr`` write to the run whose context
(a ``ContextVar`` every task it creates inherits) is current; writes outside any run, and whatever
a job writes to the file descriptors directly, go to the child's own pipes (the worker's log).

A watchdog thread notices when the loop has not turned for ``stall_after`` seconds (a blocking
call inside an ``async def``), writes at once which run's task was executing to the child's
stderr, and once the loop turns again the stall is reported to that run (``"stall"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import os
import socket
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Coroutine, Generator
from typing import Any, NoReturn

from tickwork.worker.executors import child
from tickwork.worker.executors.wire import encode_frame, read_frame

__all__ = ["main"]

RUN: contextvars.ContextVar[str | None] = contextvars.ContextVar("tickwork_run", default=None)
"""The run whose code is executing (set in each run's task, inherited by the tasks it makes)."""

_OWNER: weakref.WeakKeyDictionary[asyncio.Task[Any], str] = weakref.WeakKeyDictionary()
"""Which run made each task: read by the watchdog thread while the loop is blocked."""

_CRASH_EXIT = 70
_OUT_CHUNK = 64 * 1024
"""Characters of a run's output in one frame at most."""

child.OWN_FILES.add(__file__)


def main(ctl_fd: int, stdout_fd: int, stderr_fd: int, stall_after: float) -> NoReturn:
    code = 0
    try:
        ctl = child.setup(ctl_fd, stdout_fd, stderr_fd)
        asyncio.run(_Host(ctl.detach(), stall_after).serve())
    except BaseException:
        code = _CRASH_EXIT
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        child.flush_std()
        os._exit(code)


def _task_factory(
    loop: asyncio.AbstractEventLoop,
    coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
    context: contextvars.Context | None = None,
) -> asyncio.Task[Any]:
    task = asyncio.Task(coro, loop=loop, context=context)
    owner = RUN.get()
    if owner is not None:
        _OWNER[task] = owner
    return task


class _RoutedStream:
    """``sys.stdout``/``sys.stderr`` of the host: each write goes to the current run."""

    def __init__(self, host: _Host, name: str, fallback: Any) -> None:
        self._host = host
        self._name = name
        self._fallback = fallback

    def write(self, text: str) -> int:
        run_id = RUN.get()
        if run_id is None:
            return int(self._fallback.write(text))
        self._host.output(run_id, self._name, text)
        return len(text)

    def flush(self) -> None:
        self._fallback.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fallback, name)


class _Host:
    def __init__(self, fd: int, stall_after: float) -> None:
        self._fd = fd
        self._stall_after = stall_after
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancelled: set[str] = set()
        self._pending: dict[tuple[str, str], list[str]] = {}
        self._flush_due = False
        self._writer: asyncio.StreamWriter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.get_ident()
        self.watchdog: _Watchdog | None = None

    async def serve(self) -> None:
        self._loop = loop = asyncio.get_running_loop()
        loop.set_task_factory(_task_factory)
        sys.stdout = _RoutedStream(self, "stdout", sys.stdout)
        sys.stderr = _RoutedStream(self, "stderr", sys.stderr)
        ctl = socket.socket(fileno=self._fd)
        reader, self._writer = await asyncio.open_unix_connection(sock=ctl)
        self.watchdog = _Watchdog(loop, self._stall_after, self._stalled)
        self.watchdog.start()
        try:
            while True:
                try:
                    message = await read_frame(reader)
                except (asyncio.IncompleteReadError, OSError):
                    break
                self._handle(message)
        finally:
            self.watchdog.stop()
            for task in self._tasks.values():
                task.cancel()

    def _handle(self, message: dict[str, Any]) -> None:
        op = message["op"]
        if op == "run":
            run_id = str(message["id"])
            task = asyncio.create_task(self._run(run_id, message))
            _OWNER[task] = run_id
            self._tasks[run_id] = task
            task.add_done_callback(functools.partial(self._never_ran, run_id))
        elif op == "cancel":
            task_or_none = self._tasks.get(str(message["id"]))
            if task_or_none is not None:
                self._cancelled.add(str(message["id"]))
                task_or_none.cancel()
        elif op == "kind":
            self._send({"op": "kind", "function": message["function"], "kind": _kind(message)})

    async def _run(self, run_id: str, message: dict[str, Any]) -> None:
        RUN.set(run_id)
        try:
            reply = await self._execute(message)
        except asyncio.CancelledError:
            reply = {"ok": False, "error": "cancelled", "cancelled": True}
        finally:
            RUN.set(None)
            self._tasks.pop(run_id, None)
        if run_id in self._cancelled:
            self._cancelled.discard(run_id)
            reply.setdefault("cancelled", True)
        self._settle_stall(run_id)
        self._flush_output()
        self._reply(run_id, reply)

    def _never_ran(self, run_id: str, _task: asyncio.Task[None]) -> None:
        """A run cancelled before its task took its first step still gets its reply."""
        if self._tasks.pop(run_id, None) is not None:
            self._cancelled.discard(run_id)
            self._reply(run_id, {"ok": False, "error": "cancelled", "cancelled": True})

    async def _execute(self, message: dict[str, Any]) -> dict[str, Any]:
        name = str(message["function"])
        try:
            func = child.resolve(name)
        except Exception as exc:
            return {"ok": False, "error": f"cannot import {name!r}: {child.describe(exc)}"}
        try:
            value = func(**child.arguments(func, message))
            if inspect.isawaitable(value):
                value = await value
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            return {"ok": False, "error": child.describe(exc)}
        return {"ok": True, "result": value}

    def _reply(self, run_id: str, reply: dict[str, Any]) -> None:
        reply = {"op": "done", "id": run_id, **reply, "maxrss_kb": child.maxrss_kb()}
        try:
            self._send(reply)
        except (TypeError, ValueError) as exc:
            error = f"the return value is not JSON-serialisable: {exc}"
            self._send({"op": "done", "id": run_id, "ok": False, "error": error})

    def _send(self, message: dict[str, Any]) -> None:
        assert self._writer is not None
        self._writer.write(encode_frame(message))

    # -- output ------------------------------------------------------------------------------

    def output(self, run_id: str, stream: str, text: str) -> None:
        """Buffer a run's output; sent once the loop turns (many writes, one frame)."""
        if threading.get_ident() != self._thread:  # a thread of the job's (asyncio.to_thread)
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self.output, run_id, stream, text)
            return
        self._pending.setdefault((run_id, stream), []).append(text)
        if not self._flush_due:
            self._flush_due = True
            assert self._loop is not None
            self._loop.call_soon(self._flush_output)

    def _flush_output(self) -> None:
        self._flush_due = False
        pending, self._pending = self._pending, {}
        for (run_id, stream), texts in pending.items():
            text = "".join(texts)
            for start in range(0, len(text), _OUT_CHUNK):  # no frame grows without bound
                piece = text[start : start + _OUT_CHUNK]
                self._send({"op": "out", "id": run_id, "stream": stream, "text": piece})

    # -- stalls ------------------------------------------------------------------------------

    def _stalled(self, run_id: str | None, seconds: float) -> None:
        """In the loop, after a stall: tell the worker which run blocked it, for how long."""
        self._send({"op": "stall", "id": run_id, "seconds": round(seconds, 3)})

    def _settle_stall(self, run_id: str) -> None:
        """A run that ends right after blocking the loop: its stall is reported before it."""
        if self.watchdog is not None:
            self.watchdog.settle(run_id)


class _Watchdog:
    """Notices a loop that has not turned for ``after`` seconds, from a thread of its own."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        after: float,
        report: Any,
    ) -> None:
        self._loop = loop
        self._after = after
        self._tick = max(0.01, after / 4)
        self._report = report
        self._beat = time.monotonic()
        self._stall: tuple[str | None, float] | None = None
        """The run that was executing when a stall was noticed, and when the loop last turned."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="tickwork-stall", daemon=True)

    def start(self) -> None:
        self._loop.call_soon(self._turned)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def settle(self, run_id: str) -> None:
        stall = self._stall
        if stall is not None and stall[0] == run_id:
            self._stall = None
            self._report(run_id, time.monotonic() - stall[1])

    def _turned(self) -> None:
        now = time.monotonic()
        stall, self._stall = self._stall, None
        if stall is not None:
            self._report(stall[0], now - stall[1])
        self._beat = now
        self._loop.call_later(self._tick, self._turned)

    def _watch(self) -> None:
        while not self._stop.wait(self._tick):
            beat = self._beat
            blocked = time.monotonic() - beat - self._tick
            if blocked < self._after or self._stall is not None:
                continue
            task = asyncio.current_task(self._loop)
            run_id = None if task is None else _OWNER.get(task)
            self._stall = (run_id, beat)
            who = f"run {run_id}" if run_id else "code outside any run"
            line = (
                f"tickwork: the event loop of python child {os.getpid()} is blocked by {who} "
                f"(over {self._after:g}s: a blocking call inside an async def?)\n"
            )
            with contextlib.suppress(OSError):
                os.write(2, line.encode())


def _kind(message: dict[str, Any]) -> str:
    """``async`` for an ``async def`` (``functools.partial`` of one too)."""
    try:
        func = child.resolve(str(message["function"]))
    except Exception:
        return "sync"  # the sync path reports the import error as it always has
    return "async" if inspect.iscoroutinefunction(func) else "sync"
