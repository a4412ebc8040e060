"""Shared value types of the execution layer: what the worker asks for and what it gets back."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tickwork.domain.secrets import is_own

__all__ = [
    "ExecutionRequest",
    "ExecutionResult",
    "OutputSink",
    "RunContext",
    "RunControl",
    "Slot",
    "Stream",
    "StreamDecoder",
    "job_environment",
    "wait_outcome",
]

log = logging.getLogger(__name__)

Stream = Literal["stdout", "stderr"]
OutputSink = Callable[[Stream, str], None]
"""Called with each chunk of output as the run writes it (never only at the end)."""

JobType = Literal["python", "shell", "http"]
Isolation = Literal["pool", "process"]
Status = Literal["completed", "failed", "timed_out", "cancelled"]
Outcome = Literal["done", "timed_out", "cancelled"]
Slot = Literal["process", "async", "loop"]
"""What a run occupies while it executes: a process of its own (a sync python function on a
pool child, a shell command, ``isolation="process"``), a place on an async child's event loop
(an ``async def``), or nothing but the worker's own loop (an http request)."""


def job_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The worker's environment as its jobs get it: without tickwork's own ``TICKWORK_*``
    variables (the worker's token among them), which a job running ``env`` would otherwise
    print for every viewer of its output. The run's identity is added per run on top."""
    return {name: value for name, value in env.items() if not is_own(name)}


@dataclass(frozen=True, slots=True)
class ExecutionRequest:
    """One attempt of one run, as the worker claimed it."""

    run_id: str
    attempt: int
    fence: int
    idempotency_key: str
    job_type: JobType
    function: str | None = None
    command: str | Sequence[str] | None = None
    """A string for ``/bin/sh -c``, or an argv run without a shell."""
    cwd: str | None = None
    request: Mapping[str, Any] | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 3600.0
    isolation: Isolation = "pool"
    env: Mapping[str, str] = field(default_factory=dict)
    upstream: tuple[Mapping[str, Any], ...] = ()
    """A run fired by its dependencies: the upstream runs that fired it."""


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """How an attempt ended. ``exit_code`` is None when the run was stopped from outside."""

    status: Status
    exit_code: int | None
    result: Any = None
    error: str | None = None

    @classmethod
    def failed(cls, error: str, *, exit_code: int | None = None) -> ExecutionResult:
        return cls(status="failed", exit_code=exit_code, error=error)

    @classmethod
    def stopped(cls, outcome: Outcome, timeout: float) -> ExecutionResult:
        """The result of a run that was timed out or cancelled."""
        if outcome == "timed_out":
            return cls(status="timed_out", exit_code=None, error=f"timed out after {timeout:g}s")
        return cls(status="cancelled", exit_code=None, error="cancelled")


@dataclass(frozen=True, slots=True)
class RunContext:
    """Passed as ``ctx=`` to a python job whose signature has a ``ctx`` parameter."""

    run_id: str
    attempt: int
    fence: int
    idempotency_key: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    upstream: tuple[Mapping[str, Any], ...] = ()
    """A run fired by its dependencies: the upstream runs that fired it, each
    ``{"run_id", "job", "status", "error", "error_summary"}`` (empty otherwise)."""


class RunControl:
    """The handle the façade keeps per running attempt, so ``cancel()`` can reach it.

    Create it inside the event loop; ``cancelled`` is a future so waiting on it costs no task.
    """

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.cancelled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled.done()

    def cancel(self, *, grace: float | None = None) -> None:
        if grace is not None:
            self.grace = min(self.grace, grace)
        if not self.cancelled.done():
            self.cancelled.set_result(None)


async def wait_outcome(work: Awaitable[Any], within: float | None, control: RunControl) -> Outcome:
    """Wait for ``work`` until it finishes, ``within`` seconds pass or the run is cancelled.

    ``work`` is left running (not cancelled) when it loses, so the caller decides how to stop it.
    """
    task = asyncio.ensure_future(work)
    if not control.is_cancelled:
        await asyncio.wait(
            {task, control.cancelled}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
    if task.done():
        return "done"
    return "cancelled" if control.is_cancelled else "timed_out"


class StreamDecoder:
    """Turns raw chunks of one stream into text for a sink, never splitting a UTF-8 sequence."""

    def __init__(self, name: Stream) -> None:
        self.name: Stream = name
        self.sink: OutputSink | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes, *, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        if text and self.sink is not None:
            deliver(self.sink, self.name, text)

    def finish(self) -> None:
        self.feed(b"", final=True)
        self._decoder.reset()


def deliver(sink: OutputSink, stream: Stream, text: str) -> None:
    """Call the sink; a broken sink is logged, it never breaks the run."""
    try:
        sink(stream, text)
    except Exception:
        log.exception("output sink raised; chunk of %s dropped", stream)


def cancel_quietly(task: asyncio.Future[Any]) -> None:
    """Cancel a helper task and swallow whatever it ends with."""
    task.cancel()
    if task.done() and not task.cancelled():
        with contextlib.suppress(BaseException):
            task.exception()
