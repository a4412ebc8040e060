"""The zygote: a helper interpreter, started once, that preloads modules and starts every run.

It forks the python pool children and ``posix_spawn``s the shell runs, so each of them is its
child: it reports their exit statuses, and when the worker's socket closes (even on SIGKILL) it
SIGKILLs their process groups. This module is the worker's side; ``zygote_server`` is the
zygote's.

Why not fork the worker itself: the worker runs an event loop, an HTTP client and threads (the
child watcher, DNS lookups); a fork copies their locks in whatever state they are in. The zygote
is a fresh interpreter with one thread and no loop, so forking it is safe, and as cheap as forking
the worker (preloaded modules are shared copy-on-write; ``gc.freeze`` keeps them that way).

Why not ``multiprocessing``'s forkserver, which is the same idea: its server is one per interpreter
with global preload settings, ``Process.start()`` blocks, daemonic processes may not create children
(a job using a ``multiprocessing.Pool`` would fail) and non-daemonic ones are joined at exit. Our
protocol is a handful of messages, and the zygote also reports each child's exit status.

Protocol on a SOCK_SEQPACKET pair, one JSON object per message, answered in order:
  zygote → worker  {"op": "ready", "pid"} once preloaded, or {"op": "error", "error"}
  worker → zygote  {"op": "spawn"} with a python child's control socket, stdout and stderr
                   (SCM_RIGHTS), with "stall_after" for an async child (``child_async``);
                   or {"op": "shell"} with stdout, stderr and a memfd holding
                   {"argv", "env"} (an environment can outgrow a datagram)
  zygote → worker  {"op": "spawned", "pid"} or {"op": "failed", "type", "args"} (an exception)
  zygote → worker  {"op": "exited", "pid", "code"} (negative = signal), for every child
  worker → zygote  {"op": "release", "pid"}: that shell's group is gone, forget it (no reply)
  worker closes    the zygote SIGKILLs every child's and unreleased shell's group, and exits
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import contextlib
import json
import logging
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from tickwork.worker.executors.base import job_environment
from tickwork.worker.executors.process import kill_group
from tickwork.worker.executors.zygote_server import MAX_MESSAGE

__all__ = ["Spawned", "Zygote", "ZygoteError"]

log = logging.getLogger(__name__)

Spawned = tuple[int, asyncio.Future[int]]
"""The pid of what the zygote started, and the future of its exit code."""

_BOOT = (
    "import json, sys; cfg = json.loads(sys.argv[1]); sys.path[:] = cfg['sys_path']; "
    "from tickwork.worker.executors.zygote_server import main; main(cfg)"
)
_START_TIMEOUT = 120.0
_STOP_TIMEOUT = 5.0


class ZygoteError(RuntimeError):
    """The zygote could not start, or is gone."""


class Zygote:
    """The worker's handle on the zygote process; restarts it on demand if it died."""

    def __init__(self, *, import_paths: Sequence[str] = (), preload: Sequence[str] = ()) -> None:
        self._config = {"import_paths": list(import_paths), "preload": list(preload)}
        self._proc: asyncio.subprocess.Process | None = None
        self._sock: socket.socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: collections.deque[tuple[asyncio.Future[Spawned], bool]]
        self._pending = collections.deque()
        """Replies awaited, in request order, each with whether it is a shell."""
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._held: set[int] = set()
        """Shells whose group this zygote kills if the worker dies, until ``release``."""
        self._posting: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._reader is not None and not self._reader.done()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    async def start(self) -> None:
        async with self._lock:
            if not self.running:
                await self._start()

    async def spawn(self, fds: Sequence[int], *, stall_after: float | None = None) -> Spawned:
        """Fork a python child that gets ``fds`` (control socket, stdout, stderr); an async
        child (many runs on one event loop) if ``stall_after`` is given.

        If the zygote is lost the child keeps running and its exit future never resolves: the
        child's own socket tells when it is gone.
        """
        message: dict[str, Any] = {"op": "spawn"}
        if stall_after is not None:
            message["stall_after"] = stall_after
        return await self._request(message, fds, shell=False)

    async def spawn_shell(
        self, argv: Sequence[str], env: Mapping[str, str], stdout: int, stderr: int
    ) -> Spawned:
        """Start ``argv`` in a session of its own, stdin on /dev/null, no other descriptor.

        If the worker dies, the zygote kills the group — until ``release(pid)``, to be called once
        the group is gone. If the zygote is lost instead, the exit future fails with
        ``ZygoteError``: nobody can learn that status any more, nor guard the group.
        """
        spec = _memfd(json.dumps({"argv": list(argv), "env": dict(env)}).encode())
        try:
            return await self._request({"op": "shell"}, [stdout, stderr, spec], shell=True)
        finally:
            os.close(spec)

    def release(self, pid: int) -> None:
        """The shell's group is gone: the zygote may forget it (never blocks, never raises)."""
        if pid in self._held:
            self._held.discard(pid)
            self._post({"op": "release", "pid": pid})

    async def stop(self) -> None:
        async with self._lock:
            await self._stop()

    async def _request(
        self, message: dict[str, Any], fds: Sequence[int], *, shell: bool
    ) -> Spawned:
        async with self._lock:
            if not self.running:
                await self._start()
            assert self._sock is not None
            reply: asyncio.Future[Spawned] = asyncio.get_running_loop().create_future()
            await _send_fds(self._sock, message, fds)
            self._pending.append((reply, shell))  # no await since the send: the reply is later
        return await reply

    def _post(self, message: dict[str, Any]) -> None:
        """Send a message that has no reply, now or (if the socket is full) soon."""
        sock = self._sock
        if sock is None:
            return
        try:
            sock.send(json.dumps(message).encode())
        except BlockingIOError:
            task = asyncio.create_task(self._post_later(sock, message))
            self._posting.add(task)
            task.add_done_callback(self._posting.discard)
        except OSError:
            pass  # the zygote is gone, and with it what the message was about

    async def _post_later(self, sock: socket.socket, message: dict[str, Any]) -> None:
        async with self._lock:
            if self._sock is sock:
                with contextlib.suppress(OSError):
                    await _send_fds(sock, message, ())

    async def _start(self) -> None:
        await self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {**self._config, "fd": theirs.fileno(), "sys_path": sys.path}
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _BOOT,
                json.dumps(config),
                stdin=asyncio.subprocess.DEVNULL,
                env=job_environment(os.environ),  # its children run the jobs
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        await self._await_ready(ours)
        self._reader = asyncio.create_task(self._read_loop(ours))

    async def _await_ready(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, MAX_MESSAGE), _START_TIMEOUT)
        except TimeoutError:
            await self._stop()
            raise ZygoteError("the python zygote did not start in time") from None
        message = json.loads(data) if data else {"op": "error", "error": "exited during start"}
        if message["op"] != "ready":
            await self._stop()
            raise ZygoteError(f"the python zygote could not start: {message['error']}")

    async def _read_loop(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await loop.sock_recv(sock, MAX_MESSAGE):
                self._dispatch(json.loads(data))
            log.warning("the python zygote (pid %s) exited; it restarts on the next fork", self.pid)
        except OSError as exc:
            log.warning("lost the python zygote: %s", exc)
        finally:
            self._fail_pending()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message["op"] == "spawned":
            self._on_spawned(message["pid"])
        elif message["op"] == "failed":
            reply, _ = self._pending.popleft()
            if not reply.done():
                reply.set_exception(_spawn_error(message["type"], message["args"]))
        elif message["op"] == "exited":
            waiter = self._exits.pop(message["pid"], None)
            if waiter is not None and not waiter.done():
                waiter.set_result(message["code"])

    def _on_spawned(self, pid: int) -> None:
        reply, shell = self._pending.popleft()
        exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._exits[pid] = exited
        if shell:
            self._held.add(pid)
        if not reply.done():
            reply.set_result((pid, exited))
        elif shell:  # the caller gave up waiting: nobody would ever stop this run
            kill_group(pid)
            self.release(pid)

    def _fail_pending(self) -> None:
        # Python children of a lost zygote keep running; their handles notice when their socket
        # closes. Shells cannot be watched any more: their runs learn it from their exit futures.
        lost = ZygoteError("the python zygote is gone")
        for pid in self._held:
            exited = self._exits.get(pid)
            if exited is not None and not exited.done():
                exited.set_exception(lost)
                exited.exception()  # retrieved: the run may be gone already
        self._held.clear()
        self._exits.clear()
        while self._pending:
            reply, _ = self._pending.popleft()
            if not reply.done():
                reply.set_exception(lost)

    async def _stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._sock is not None:
            self._sock.close()  # the zygote sees EOF, kills its children and exits
            self._sock = None
        if self._proc is not None:
            await _reap(self._proc)
            self._proc = None


def _spawn_error(name: str, args: list[Any]) -> Exception:
    """The exception the zygote got while starting something, raised again here."""
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        return kind(*args)
    return ZygoteError(f"{name}: {args[0]}")


def _memfd(data: bytes) -> int:
    """An anonymous file holding ``data``, to pass to the zygote."""
    fd = os.memfd_create("tickwork-spawn", os.MFD_CLOEXEC)
    try:
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
    except BaseException:
        os.close(fd)
        raise
    return fd


async def _send_fds(sock: socket.socket, message: dict[str, Any], fds: Sequence[int]) -> None:
    data = json.dumps(message).encode()
    loop = asyncio.get_running_loop()
    while True:
        try:
            socket.send_fds(sock, [data], list(fds))
        except BlockingIOError:
            writable = loop.create_future()
            loop.add_writer(sock.fileno(), writable.set_result, None)
            try:
                await writable
            finally:
                loop.remove_writer(sock.fileno())
        else:
            return


async def _reap(proc: asyncio.subprocess.Process) -> None:
    try:
        await asyncio.wait_for(proc.wait(), _STOP_TIMEOUT)
    except TimeoutError:
        kill_group(proc.pid)
        await proc.wait()
