"""A run as the worker holds it, and the conversions between wire models and the executors."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from pydantic import ValidationError

from tickwork.domain import secrets
from tickwork.domain.masking import MIN_MASKED_LENGTH, Mask, StreamMask
from tickwork.schemas.workers import AssignmentOut, CompletionIn, RunFence
from tickwork.worker.executors import ExecutionRequest, ExecutionResult, Executors
from tickwork.worker.executors.base import Slot, Stream
from tickwork.worker.reporter import Reporter

__all__ = ["HeldRun", "KillReason", "RunBook", "completion_for", "execution_request"]

log = logging.getLogger(__name__)

KillReason = Literal["cancel", "stale", "forgotten", "lease_lost", "unconfirmed", "shutdown"]
"""Why the worker stops a run: asked by the coordinator, no longer its owner, coordinator
forgot the worker, heartbeats failing for too long, its start not confirmed within the ack
window, or the worker shutting down."""

DROPPED: frozenset[KillReason] = frozenset({"stale", "forgotten"})
"""Runs stopped for these reasons belong to someone else now: nothing more is reported."""

FAILED_BECAUSE: dict[KillReason, str] = {
    "shutdown": "worker shutting down",
    "lease_lost": (
        "worker lost contact with the coordinator; the run was killed before its lease "
        "could pass to another worker"
    ),
    "unconfirmed": (
        "the coordinator did not confirm the run's start in time; the run was stopped before "
        "its claim could pass to another worker"
    ),
}
"""Runs stopped for these reasons are reported failed, so the retry policy re-queues them."""

_RANK: dict[KillReason, int] = {
    "shutdown": 0,
    "lease_lost": 0,
    "unconfirmed": 0,
    "cancel": 1,
    "stale": 2,
    "forgotten": 2,
}
"""A stronger reason replaces a weaker one: a cancelled run stays cancelled at shutdown."""

MAX_ERROR_CHARS = 64 * 1024


@dataclass(eq=False, slots=True)
class HeldRun:
    """One claimed attempt, from the lock until its completion is answered."""

    assignment: AssignmentOut
    claimed: float = 0.0
    """When (monotonic) the claim that gave it was sent."""
    slot: Slot | None = None
    """What it occupies while it executes (None: not known yet, see ``Executors.slot``)."""
    kill_reason: KillReason | None = None
    started: asyncio.Future[bool] | None = None
    """Set when its start is queued: whether the coordinator confirmed the start."""
    start_timer: asyncio.TimerHandle | None = None
    """While it executes with its start not queued yet: when the start is queued anyway."""
    mask: Mask = field(default_factory=Mask)
    """The run's resolved secrets, masked in everything reported about it."""
    maskers: dict[Stream, StreamMask] = field(default_factory=dict, repr=False)

    @property
    def run_id(self) -> str:
        return self.assignment.run_id

    @property
    def fence(self) -> int:
        return self.assignment.fence

    @property
    def dropped(self) -> bool:
        return self.kill_reason in DROPPED

    def shown(self, stream: Stream, text: str) -> str:
        """A chunk of output as it may be reported: secrets masked, and held back what may
        still be the start of one (a secret split across reads or written in pieces)."""
        if not self.mask:
            return text
        masker = self.maskers.get(stream)
        if masker is None:
            masker = self.maskers[stream] = self.mask.stream()
        return masker.feed(text)

    def held_output(self) -> list[tuple[Stream, str]]:
        """The output still held back, once the run has ended."""
        flushed = [(stream, masker.flush()) for stream, masker in self.maskers.items()]
        return [(stream, text) for stream, text in flushed if text]

    def kill(self, reason: KillReason) -> bool:
        """Record why the run is stopped; True if this changed anything."""
        if self.kill_reason is not None and _RANK[reason] <= _RANK[self.kill_reason]:
            return False
        self.kill_reason = reason
        return True


class RunBook:
    """The runs this worker holds (by run id), and how they are stopped."""

    def __init__(self, reporter: Reporter, executors: Executors) -> None:
        self.runs: dict[str, HeldRun] = {}
        self._reporter = reporter
        self._executors = executors

    def add(self, held: HeldRun) -> None:
        self.runs[held.run_id] = held

    def fences(self) -> list[RunFence]:
        return [RunFence(run_id=h.run_id, fence=h.fence) for h in self.runs.values()]

    def remove(self, held: HeldRun) -> None:
        if self.runs.get(held.run_id) is held:
            del self.runs[held.run_id]

    def settled(self, run_id: str, fence: int) -> None:
        held = self.runs.get(run_id)
        if held is not None and held.fence == fence:
            del self.runs[run_id]

    async def kill(
        self,
        run_id: str,
        reason: KillReason,
        fence: int | None = None,
        *,
        grace: float | None = None,
    ) -> None:
        """Stop a held run (SIGTERM to its process group, SIGKILL after the grace period, or
        after ``grace`` if that is shorter, even for a run already being stopped)."""
        held = self.runs.get(run_id)
        if held is None or (fence is not None and held.fence != fence):
            return
        if not held.kill(reason):
            if grace is not None:
                await self._executors.cancel(run_id, grace=grace)
            return
        level = logging.INFO if reason == "cancel" else logging.WARNING
        log.log(level, "stopping run %s (fence %d): %s", run_id, held.fence, reason)
        if held.dropped:
            self.remove(held)
            self._reporter.drop_run(run_id, held.fence)
        await self._executors.cancel(run_id, grace=grace)

    async def kill_all(self, reason: KillReason, *, grace: float | None = None) -> None:
        for run_id in list(self.runs):
            await self.kill(run_id, reason, grace=grace)


def execution_request(
    a: AssignmentOut, allowed: Collection[str], env: Mapping[str, str] | None = None
) -> tuple[ExecutionRequest, Mask]:
    """The executors' request, with ``{"$secret": NAME}`` references filled in from the
    worker's environment for the ``allowed`` names (a SecretError otherwise), and the mask
    of the values filled in."""
    env = os.environ if env is None else env
    parameters, from_params = secrets.resolve(a.parameters, env, allowed=allowed)
    request, from_request = secrets.resolve(a.request, env, allowed=allowed)
    job_env, from_env = secrets.resolve(a.env, env, allowed=allowed)
    values = from_params + from_request + from_env
    if any(len(v) < MIN_MASKED_LENGTH for v in values):
        log.warning(
            "run %s: a secret shorter than %d characters is not masked in its output",
            a.run_id,
            MIN_MASKED_LENGTH,
        )
    return ExecutionRequest(
        run_id=a.run_id,
        attempt=a.attempt,
        fence=a.fence,
        idempotency_key=a.idempotency_key,
        job_type=a.type,
        function=a.function,
        command=a.command,
        cwd=a.cwd,
        env={str(k): str(v) for k, v in (job_env or {}).items()},
        request=request,
        parameters=parameters,
        timeout=a.timeout,
        isolation="process" if a.isolation == "process" else "pool",
        upstream=tuple(a.upstream),
    ), Mask.of(values)


def completion_for(
    held: HeldRun, result: ExecutionResult | None, elapsed: float | None = None
) -> CompletionIn | None:
    """What to report for a run that ended after ``elapsed`` seconds (``result`` None: it
    never started executing, and is handed back unless it was cancelled)."""
    if held.dropped:
        return None
    if result is None and held.kill_reason != "cancel":
        return None
    if result is None:
        result = ExecutionResult.stopped("cancelled", 0)
    status, error = result.status, result.error
    if held.mask:
        error = held.mask.text(error) if error else error
        result = replace(result, result=held.mask.value(result.result))
    reason = held.kill_reason
    if status == "cancelled" and reason in FAILED_BECAUSE:
        status, error = "failed", FAILED_BECAUSE[reason]
    try:
        return CompletionIn(
            run_id=held.run_id,
            fence=held.fence,
            status=status,
            exit_code=result.exit_code,
            result=result.result,
            error=_bounded(error),
            elapsed=elapsed,
        )
    except ValidationError as exc:
        note = f"the job's result could not be reported: {exc.errors()[0]['msg']}"
        return CompletionIn(
            run_id=held.run_id,
            fence=held.fence,
            status="failed",
            exit_code=result.exit_code,
            error=_bounded(f"{error}\n{note}" if error else note),
            elapsed=elapsed,
        )


def _bounded(error: str | None) -> str | None:
    """Keep the end of a long error (a traceback's last lines say the most)."""
    if error is None or len(error) <= MAX_ERROR_CHARS:
        return error
    marker = "[tickwork: error truncated]\n…"
    return marker + error[-(MAX_ERROR_CHARS - len(marker)) :]
