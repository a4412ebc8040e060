"""Job functions the integration tests run on real workers."""

from __future__ import annotations

import fcntl
import os
import struct
import sys
import termios
import time
from pathlib import Path
from typing import Any


def hello(name: str = "world") -> dict[str, str]:
    print(f"Report generated for {name}")
    return {"greeting": f"hello {name}"}


def record(marker_dir: str, key: str = "x", ctx: Any = None) -> int:
    """The job's own side effect: one file per execution, so tests count real executions."""
    path = Path(marker_dir) / f"{key}-{os.getpid()}-{time.monotonic_ns()}"
    path.write_text(ctx.idempotency_key if ctx is not None else "")
    return len(list(Path(marker_dir).iterdir()))


def slow_record(marker_dir: str, seconds: float = 3.0, ctx: Any = None) -> str:
    time.sleep(seconds)
    (Path(marker_dir) / f"done-{os.getpid()}-{time.monotonic_ns()}").write_text(
        str(ctx.attempt if ctx else "")
    )
    return "slept"


def marked_slow(marker_dir: str, seconds: float = 3.0) -> str:
    """Marks its start and its end: executions are counted by the ``began-`` files."""
    (Path(marker_dir) / f"began-{os.getpid()}-{time.monotonic_ns()}").touch()
    time.sleep(seconds)
    (Path(marker_dir) / f"done-{os.getpid()}-{time.monotonic_ns()}").touch()
    return "slept"


def boom() -> None:
    raise RuntimeError("this job always fails")


def noop() -> None:
    return None


def gated_record(marker_dir: str, gate: str, limit: float = 120.0) -> str:
    """Hold until the test creates ``gate`` (so timing never decides a test), then record."""
    deadline = time.monotonic() + limit
    while not Path(gate).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {gate} never opened")
        time.sleep(0.02)
    (Path(marker_dir) / f"done-{os.getpid()}-{time.monotonic_ns()}").write_text("")
    return "released"


def use_secret(password: str, fail: bool = False) -> dict[str, str]:
    """Careless with its secret on purpose: prints it, returns it, raises with it."""
    print(f"connecting with password={password}")
    if fail:
        raise RuntimeError(f"login refused for password {password}")
    return {"echo": password}


def _unread(fd: int) -> int:
    """Bytes written to the pipe behind ``fd`` that its reader has not taken yet."""
    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])


def print_in_pieces(password: str, at: int, limit: float = 30.0) -> None:
    """Print ``pw=<password> done`` in two writes cut ``at`` characters into the secret,
    flushing each and waiting until the worker has read it from the pipe, so each piece
    reaches the worker in a read of its own."""
    for text in (f"pw={password[:at]}", f"{password[at:]} done\n"):
        sys.stdout.write(text)
        sys.stdout.flush()
        deadline = time.monotonic() + limit
        while _unread(sys.stdout.fileno()) and time.monotonic() < deadline:
            time.sleep(0.001)


def print_after(password: str, before: int = 65530) -> None:
    """``before`` bytes then the secret in one write: the worker reads 65,536 at a time."""
    sys.stdout.write("x" * before + password + "\n")


def secret_as_key(password: str) -> dict[str, Any]:
    return {password: 1, "nested": [{f"user:{password}": "x"}]}


def raise_with_repr(password: str) -> None:
    settings = {"password": password}
    raise ValueError(f"bad settings: {settings!r}")


def nul_output() -> dict[str, str]:
    """Prints and returns NUL characters, which no PostgreSQL text column can hold."""
    print("before\x00after")
    return {"key\x00": "value\x00"}


def upstream_seen(ctx: Any = None) -> list[dict[str, Any]]:
    """The upstream runs that fired this run, as its code gets them (``ctx.upstream``)."""
    return [dict(u) for u in ctx.upstream] if ctx is not None else []
