"""Helpers shared by the executor tests (a uniquely named module: tests dirs are not packages)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tickwork.worker.executors import ExecutionRequest, Executors

JOBS_DIR = Path(__file__).parent

MakeExecutors = Callable[..., Awaitable[Executors]]


class Output:
    """An OutputSink that records chunks and lets a test wait for some text to arrive."""

    def __init__(self) -> None:
        self.chunks: list[tuple[str, str]] = []
        self._changed = asyncio.Event()

    def __call__(self, stream: str, text: str) -> None:
        self.chunks.append((stream, text))
        self._changed.set()

    def text(self, stream: str = "stdout") -> str:
        return "".join(text for name, text in self.chunks if name == stream)

    async def wait_for(self, needle: str, stream: str = "stdout", within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while needle not in self.text(stream):
                self._changed.clear()
                await self._changed.wait()


async def wait_until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``predicate`` until it holds, failing after ``within`` seconds.

    For conditions nothing signals (a pid disappearing, the pool refilling in the background).
    """
    async with asyncio.timeout(within):
        for _ in itertools.count():
            if predicate():
                return
            await asyncio.sleep(0.005)


def make_request(job_type: str, **fields: Any) -> ExecutionRequest:
    defaults: dict[str, Any] = {
        "run_id": f"run-{uuid.uuid4().hex[:8]}",
        "attempt": 1,
        "fence": 7,
        "idempotency_key": f"key-{uuid.uuid4().hex[:8]}",
        "timeout": 30.0,
    }
    return ExecutionRequest(job_type=job_type, **{**defaults, **fields})  # type: ignore[arg-type]
