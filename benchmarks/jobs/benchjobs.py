"""Jobs the benchmarks run: as cheap as possible, so tickwork's own cost is what is measured."""

from typing import Any


def noop() -> None:
    return None


def fail_first(ctx: Any) -> str:
    """Fails its first attempt, succeeds on the next (for the retry-precision figure)."""
    if ctx.attempt == 1:
        raise RuntimeError("first attempt fails on purpose")
    return "ok"


async def sleeper(ctx: Any, seconds: float, log: str) -> str:
    """An ``async def`` that notes each execution (run id and attempt) in ``log``, then sleeps:
    the sleepers benchmark counts runs executed twice from that file."""
    import asyncio
    import os

    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{ctx.run_id} {ctx.attempt}\n".encode())
    finally:
        os.close(fd)
    await asyncio.sleep(seconds)
    return "slept"
