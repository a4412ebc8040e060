"""The zygote's own side: runs in the helper interpreter, forks pool children, spawns shell runs.

One thread, no event loop: a selector on the worker's socket and on a signal wakeup pipe
(SIGCHLD). Everything the zygote starts is its child, so it learns every exit status first-hand
and, when the worker's socket closes (the worker exited, or was killed with SIGKILL), it SIGKILLs
the process group of everything it started and exits: nothing it started outlives the worker.

A shell run's group stays on that list after the shell itself exited, until the worker says
``release``: background processes the command left behind are still in the group while the
worker gives them their SIGTERM grace period, and must not survive the worker dying meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import traceback
from typing import Any

from tickwork.worker.executors import child, child_async
from tickwork.worker.executors.process import kill_group

__all__ = ["main"]

MAX_MESSAGE = 4096
"""Largest message on the socket, either way (a shell's argv and env travel in a memfd)."""
_MAX_FDS = 3
_SHELL_SIGDEF = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT)
"""Reset for shells: what ``subprocess`` restores (Python ignores PIPE and XFSZ), plus SIGINT,
which the zygote ignores. Any other disposition is the worker's, inherited as before."""


def main(config: dict[str, Any]) -> None:
    sock = socket.socket(fileno=config["fd"])
    sock.set_inheritable(False)  # passed with pass_fds: no shell run may inherit it
    sock.setblocking(True)
    error = _preload(config["import_paths"], config["preload"])
    if error is not None:
        sock.send(json.dumps({"op": "error", "error": error}).encode())
        return
    gc.freeze()  # keep the preloaded objects' pages shared with every child
    sock.send(json.dumps({"op": "ready", "pid": os.getpid()}).encode())
    _Server(sock).serve()


def _preload(import_paths: list[str], modules: list[str]) -> str | None:
    sys.path[:0] = [path for path in import_paths if path not in sys.path]
    try:
        for name in ("tickwork", "tickwork.worker.executors.child_async", *modules):
            importlib.import_module(name)
    except BaseException:
        return traceback.format_exc()
    return None


class _Server:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._children: set[int] = set()
        """Started and not reaped yet."""
        self._groups: set[int] = set()
        """Shell runs' process groups the worker has not released yet."""
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_r, False)
        os.set_blocking(self._wakeup_w, False)
        self._selector = selectors.DefaultSelector()

    def serve(self) -> None:
        signal.set_wakeup_fd(self._wakeup_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self._selector.register(self._sock, selectors.EVENT_READ)
        self._selector.register(self._wakeup_r, selectors.EVENT_READ)
        try:
            while self._serve_once():
                pass
        finally:
            self._shutdown()

    def _serve_once(self) -> bool:
        for key, _ in self._selector.select():
            if key.fileobj is self._sock:
                if not self._handle_request():
                    return False
            else:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wakeup_r, 4096)
                self._reap()
        return True

    def _handle_request(self) -> bool:
        try:
            data, fds, _, _ = socket.recv_fds(self._sock, MAX_MESSAGE, _MAX_FDS)
        except ConnectionError:  # the worker closed with replies unread: it is gone all the same
            return False
        for fd in fds:  # a shell gets its stdout and stderr as 1 and 2, and nothing else
            os.set_inheritable(fd, False)  # (recv_fds ignores MSG_CMSG_CLOEXEC in 3.11)
        if not data:
            return False
        try:
            self._serve_request(json.loads(data), fds)
        finally:
            for fd in fds:
                os.close(fd)
        return True

    def _serve_request(self, message: dict[str, Any], fds: list[int]) -> None:
        if message["op"] == "release":
            self._groups.discard(message["pid"])
            return
        try:
            pid = self._start(message, fds)
        except Exception as exc:  # a bad request must not take the zygote (and the pool) down
            self._send(_failure(exc))
        else:
            self._send({"op": "spawned", "pid": pid})

    def _start(self, message: dict[str, Any], fds: list[int]) -> int:
        op = message["op"]
        if len(fds) != _MAX_FDS:
            raise OSError(errno.EINVAL, f"expected {_MAX_FDS} descriptors, got {len(fds)}")
        if op == "spawn":
            return self._fork(fds, message.get("stall_after"))
        if op == "shell":
            return self._spawn_shell(*fds)
        raise ValueError(f"unknown request {op!r}")

    def _fork(self, fds: list[int], stall_after: float | None) -> int:
        """A python pool child; an async one (an event loop for many runs) given
        ``stall_after``, the seconds after which a blocked loop is reported."""
        pid = os.fork()
        if pid == 0:
            try:
                self._become_child()
                if stall_after is None:
                    child.main(*fds)
                else:
                    child_async.main(fds[0], fds[1], fds[2], float(stall_after))
            finally:
                os._exit(70)
        self._children.add(pid)
        return pid

    def _spawn_shell(self, stdout: int, stderr: int, spec_fd: int) -> int:
        """``posix_spawn`` (a vfork: cheap whatever the zygote's size) in a session of its own.

        It returns once the exec succeeded (or raises), so the shell already leads its group.
        """
        spec = json.loads(_read_all(spec_fd))
        argv: list[str] = spec["argv"]
        pid = os.posix_spawn(
            argv[0],
            argv,
            spec["env"],
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, stdout, 1),
                (os.POSIX_SPAWN_DUP2, stderr, 2),
            ],
            setsid=True,
            setsigdef=_SHELL_SIGDEF,
        )
        self._children.add(pid)
        self._groups.add(pid)
        return pid

    def _become_child(self) -> None:
        signal.set_wakeup_fd(-1)
        self._selector.close()
        os.close(self._wakeup_r)
        os.close(self._wakeup_w)
        self._sock.close()

    def _reap(self) -> None:
        while self._children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._children.discard(pid)
            self._send({"op": "exited", "pid": pid, "code": os.waitstatus_to_exitcode(status)})

    def _send(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the worker is gone: _shutdown follows
            self._sock.send(json.dumps(message).encode())

    def _shutdown(self) -> None:
        for pgid in self._children | self._groups:
            kill_group(pgid)
        for pid in self._children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in self._children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _failure(exc: Exception) -> dict[str, Any]:
    """The reply that makes the worker raise ``exc`` again (a builtin type, or ZygoteError)."""
    if isinstance(exc, OSError):
        return {"op": "failed", "type": "OSError", "args": [exc.errno, exc.strerror, exc.filename]}
    return {"op": "failed", "type": type(exc).__name__, "args": [str(exc)]}


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    data = bytearray()
    while len(data) < size and (chunk := os.pread(fd, size - len(data), len(data))):
        data += chunk
    return bytes(data)
