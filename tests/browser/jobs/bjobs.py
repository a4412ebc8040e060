"""Job functions the browser tests run on a real worker (``--path tests/browser/jobs``)."""

from __future__ import annotations

import time
from typing import Any


def steps(
    lines: list[str] | None = None,
    seconds: float = 0.0,
    fail: str | None = None,
    result: Any = None,
) -> Any:
    """Print ``lines`` spread over ``seconds`` (flushed, so the live tail sees each one), then
    return ``result``, or raise ``RuntimeError(fail)``."""
    out = lines or ["done"]
    pause = seconds / len(out)
    for line in out:
        print(line, flush=True)
        if pause:
            time.sleep(pause)
    if fail:
        raise RuntimeError(fail)
    return result


def first_attempt_fails(ctx: Any = None) -> str:
    """Fails on attempt 1, succeeds on any later attempt (a retry from the UI)."""
    attempt = ctx.attempt if ctx is not None else 1
    print(f"attempt {attempt} starting", flush=True)
    if attempt == 1:
        raise RuntimeError("upstream API returned 503")
    print(f"attempt {attempt} succeeded", flush=True)
    return "recovered"
