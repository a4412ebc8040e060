"""Jobs the benchmarks run: as cheap as possible, so tickwork's own cost is what is measured."""

from typing import Any


def noop() -> None:
    return None


def fail_first(ctx: Any) -> str:
    """Fails its first attempt, succeeds on the next (for the retry-precision figure)."""
    if ctx.attempt == 1:
        raise RuntimeError("first attempt fails on purpose")
    return "ok"
