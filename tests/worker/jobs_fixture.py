"""Job functions the python executor tests run in pool children (imported via import_paths)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

IMPORTED_IN_PID = os.getpid()


def noop() -> None:
    return None


def add(a: int, b: int) -> int:
    return a + b


def pid() -> int:
    return os.getpid()


def imported_in_pid() -> int:
    return IMPORTED_IN_PID


def with_ctx(ctx: Any, x: int = 0) -> dict[str, Any]:
    return {
        "type": type(ctx).__name__,
        "run_id": ctx.run_id,
        "attempt": ctx.attempt,
        "fence": ctx.fence,
        "idempotency_key": ctx.idempotency_key,
        "parameters": dict(ctx.parameters),
        "env": dict(ctx.env),
        "upstream": [dict(u) for u in ctx.upstream],
        "x": x,
    }


def accepts_kwargs(**kwargs: Any) -> list[str]:
    return sorted(kwargs)


def boom() -> None:
    raise ValueError("boom from the job")


def returns_set() -> set[int]:
    return {1, 2}


async def async_double(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2


def chatty(lines: int, tail_bytes: int = 0) -> str:
    for i in range(lines):
        print(f"line {i}")
    print("to stderr", file=sys.stderr)
    os.write(1, b"raw fd write\n")
    subprocess.run(["echo", "from a subprocess"], check=True)
    print("x" * tail_bytes, end="")  # no newline: only the final flush sends it
    return "done"


def stream(flag: str) -> str:
    print("started")
    while not Path(flag).exists():
        time.sleep(0.01)
    print("finished")
    return "ok"


def hang_ignoring_term(pid_file: str) -> None:
    """Ignore SIGTERM, start a grandchild that ignores it too, then never return."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    grandchild = subprocess.Popen(["sleep", "999"])
    Path(pid_file).write_text(f"{os.getpid()} {grandchild.pid}")
    print("hanging", flush=True)
    threading.Event().wait()


def exit_hard(code: int) -> None:
    print("about to exit", flush=True)
    os._exit(code)


def segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)
    threading.Event().wait()


def environment_names() -> list[str]:
    """The names of the variables a python job sees."""
    return sorted(os.environ)


_MET: dict[str, int] = {}
_ALL_MET: dict[str, asyncio.Event] = {}


async def meet(key: str, n: int) -> int:
    """Returns only once ``n`` runs with this key are in this process at once (its pid)."""
    _MET[key] = _MET.get(key, 0) + 1
    met = _ALL_MET.setdefault(key, asyncio.Event())
    if _MET[key] >= n:
        met.set()
    await met.wait()
    return os.getpid()


async def async_sleep(seconds: float) -> int:
    await asyncio.sleep(seconds)
    return os.getpid()


async def async_chatter(tag: str, lines: int) -> str:
    for i in range(lines):
        print(f"{tag}-{i}")
        print(f"{tag}-err-{i}", file=sys.stderr)
        await asyncio.sleep(0)
    return tag


_block = time.sleep  # called from an async def: the mistake the watchdog is there to catch


async def async_blocking(seconds: float) -> str:
    _block(seconds)
    return "done"


async def async_ctx(ctx: Any) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"run_id": ctx.run_id, "fence": ctx.fence}


async def async_crash(seconds: float) -> None:
    await asyncio.sleep(seconds)
    os.kill(os.getpid(), signal.SIGKILL)


async def async_flood(chars: int) -> int:
    sys.stdout.write("x" * chars + "\n")
    await asyncio.sleep(0)
    return chars
