"""The python pool child: forked by the zygote, runs one job at a time until the worker hangs up.

Everything here runs in the child process. ``main`` never returns: it ends with ``os._exit`` so
nothing of the zygote (its loop, its atexit handlers) ever runs again in the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib
import inspect
import io
import os
import resource
import signal
import socket
import sys
import traceback
from collections.abc import Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, NoReturn

from tickwork.worker.executors.base import RunContext
from tickwork.worker.executors.wire import encode_frame, recv_frame, send_frame

__all__ = [
    "arguments",
    "describe",
    "flush_std",
    "main",
    "maxrss_kb",
    "resolve",
    "run_job",
    "setup",
]

_CRASH_EXIT = 70

OWN_FILES = {__file__}
"""Modules whose frames a job's traceback leaves out (they say nothing about the job)."""


def main(ctl_fd: int, stdout_fd: int, stderr_fd: int) -> NoReturn:
    code = 0
    try:
        ctl = setup(ctl_fd, stdout_fd, stderr_fd)
        while (message := recv_frame(ctl)) is not None:
            send_frame(ctl, run_job(message))
    except BaseException:
        code = _CRASH_EXIT
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        flush_std()
        os._exit(code)


def setup(ctl_fd: int, stdout_fd: int, stderr_fd: int) -> socket.socket:
    """Own session, default signals, stdio on the worker's pipes, then say ready."""
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ctl_fd, *stdio = _move_high([ctl_fd, os.open(os.devnull, os.O_RDONLY), stdout_fd, stderr_fd])
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = _text_stream(1)
    sys.stderr = _text_stream(2)
    ctl = socket.socket(fileno=ctl_fd)
    ctl.setblocking(True)
    send_frame(ctl, encode_frame({"op": "ready", "pid": os.getpid()}))
    return ctl


def _move_high(fds: list[int]) -> list[int]:
    """Copies above 2 (close-on-exec), originals closed: any of them may sit on 0, 1 or 2 if the
    worker runs with a standard stream closed, and dup2 onto 0-2 must not clobber another."""
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) for fd in fds]
    for fd in fds:
        os.close(fd)
    return moved


def _text_stream(fd: int) -> io.TextIOWrapper:
    """Line-buffered, so print() reaches the worker as each line is written."""
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(
        io.BufferedWriter(raw), encoding="utf-8", errors="backslashreplace", line_buffering=True
    )


def run_job(message: Mapping[str, Any]) -> bytes:
    """Run one job; the reply frame, always (a failure is a reply, never an exception)."""
    name = str(message["function"])
    try:
        func = resolve(name)
    except BaseException as exc:
        return _failure(f"cannot import {name!r}: {describe(exc)}")
    try:
        value = _invoke(func, arguments(func, message))
    except BaseException as exc:
        return _failure(describe(exc))
    finally:
        flush_std()
    try:
        return encode_frame({"ok": True, "result": value, "maxrss_kb": maxrss_kb()})
    except (TypeError, ValueError) as exc:
        return _failure(f"the return value of {name} is not JSON-serialisable: {exc}")


def resolve(name: str) -> Callable[..., Any]:
    """``pkg.module.func`` (or ``pkg.module:Class.method``) to the callable it names."""
    module_name, colon, attr = name.partition(":")
    if not colon:
        module_name, _, attr = name.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"{name!r} is not of the form 'package.module.function'")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{name!r} is not callable")
    return target  # type: ignore[no-any-return]


def arguments(func: Callable[..., Any], message: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = dict(message.get("parameters") or {})
    if _accepts_ctx(func):
        ctx = message["ctx"]
        kwargs["ctx"] = RunContext(
            run_id=ctx["run_id"],
            attempt=ctx["attempt"],
            fence=ctx["fence"],
            idempotency_key=ctx["idempotency_key"],
            parameters=MappingProxyType(dict(message.get("parameters") or {})),
            env=MappingProxyType(dict(ctx.get("env") or {})),
            upstream=tuple(MappingProxyType(dict(u)) for u in ctx.get("upstream") or ()),
        )
    return kwargs


def _accepts_ctx(func: Callable[..., Any]) -> bool:
    try:
        parameter = inspect.signature(func).parameters.get("ctx")
    except (TypeError, ValueError):
        return False
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


def _invoke(func: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    value = func(**kwargs)
    if inspect.iscoroutine(value):
        value = asyncio.run(value)
    return value


def _failure(error: str) -> bytes:
    return encode_frame({"ok": False, "error": error, "maxrss_kb": maxrss_kb()})


def maxrss_kb() -> int:
    """The child's peak resident set size, so the pool can recycle a child that grew too big."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def describe(exc: BaseException) -> str:
    """The traceback, without the frames of this module (they say nothing about the job)."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in OWN_FILES:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()


def flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
