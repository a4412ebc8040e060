"""One task that ships the worker's starts, output, completions and released claims in batched
reports.

A report goes out ``linger`` seconds after something is queued while no report is in flight
(a few milliseconds: a no-op's start and completion then leave together, and so do those of
the runs around it), and under load everything that piled up during a round trip leaves in
the next request. Any item answered ``stale_fence`` makes the worker kill that run and forget
what it still had queued for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

from pydantic import ValidationError

from tickwork.client.errors import ApiError, NotRegisteredError, UnreachableError
from tickwork.client.worker_protocol import WorkerProtocolClient
from tickwork.schemas.workers import AssignmentOut, CompletionIn, ReportItem, ReportOut
from tickwork.worker.backoff import Backoff
from tickwork.worker.batch import Batch, Item, Limits, ReportQueue
from tickwork.worker.executors.base import Stream
from tickwork.worker.waiting import set_within

__all__ = ["ReportClaims", "ReportHandler", "Reporter"]

log = logging.getLogger(__name__)

STALE = "stale_fence"

LINGER = 0.002
"""Seconds a report waits for more items before it leaves."""

T = TypeVar("T")


class ReportHandler(Protocol):
    async def on_stale(self, run_id: str, fence: int) -> None:
        """The coordinator says this attempt is no longer the run's owner: kill it."""

    def on_settled(self, run_id: str, fence: int) -> None:
        """The completion of this attempt has been answered (recorded, or refused)."""

    async def on_forgotten(self, worker_id: str) -> None:
        """The coordinator does not know this worker any more."""


class ReportClaims(Protocol):
    """How reports carry claims: a report that frees room (completions, hand-backs) claims
    that room in the same request, so a worker whose runs finish claims without a request
    of its own (and a slot freed by a completion is refilled one round trip sooner)."""

    def reserve(self) -> int:
        """Runs the report about to leave may claim, held for it until ``claimed``."""

    def claimed(self, assignments: list[AssignmentOut], asked: float, reserved: int) -> None:
        """What that report's claim took (nothing if the report failed), sent at ``asked``;
        the ``reserved`` room is given back."""


class Reporter:
    def __init__(
        self,
        client: WorkerProtocolClient,
        worker_id: Callable[[], str],
        handler: ReportHandler,
        limits: Limits | None = None,
        linger: float = LINGER,
        claims: ReportClaims | None = None,
        alone: Callable[[], bool] | None = None,
    ) -> None:
        self.queue = ReportQueue(limits)
        self.linger = linger
        self._alone = alone
        """Whether no other run is executing or waiting to: then nothing more can join a
        report by lingering, and it leaves at once (a ``concurrency: 1`` job's next run is
        claimed by the report that ends the one before)."""
        self.requests = 0
        self._client = client
        self._worker_id = worker_id
        self._handler = handler
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._starts: dict[tuple[str, int], asyncio.Future[bool]] = {}
        self._backoff = Backoff()
        self.claims = claims
        self._finishing_sent = False

    # -- what the runtime queues ---------------------------------------------------------

    def start(self, run_id: str, fence: int) -> asyncio.Future[bool]:
        """Queue the confirmation of a claim; the future says whether the coordinator took it."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._starts[(run_id, fence)] = future
        self.queue.add_start(run_id, fence)
        self._poke()
        return future

    def log(self, run_id: str, fence: int, stream: Stream, text: str) -> None:
        self.queue.add_log(run_id, fence, stream, text)
        self._poke()

    def complete(self, completion: CompletionIn) -> None:
        self.queue.add_completion(completion)
        self._poke()

    def release(self, run_id: str, fence: int) -> None:
        """Hand back a claim that was never started."""
        self.queue.add_release(run_id, fence)
        self._poke()

    def drop_run(self, run_id: str, fence: int) -> None:
        self.queue.drop_run(run_id)
        _resolve(self._starts.pop((run_id, fence), None), False)

    def forget(self, run_id: str) -> None:
        """The run ended here (a start still queued is still answered)."""
        self.queue.forget(run_id)

    def drop_all(self) -> None:
        self.queue.clear()
        for future in self._starts.values():
            _resolve(future, False)
        self._starts.clear()

    @property
    def finishing(self) -> bool:
        """Completions or hand-backs are queued or on their way: the report that carries
        them carries the next claim too."""
        return self._finishing_sent or self.queue.finishing

    async def flush(self, within: float) -> bool:
        """Wait until everything queued has been answered; False after ``within`` seconds."""
        return await set_within(self._idle, within)

    # -- the task ------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            if self.linger > 0 and not (self._alone is not None and self._alone()):
                await asyncio.sleep(self.linger)
            self._wake.clear()
            while (batch := self.queue.take()) is not None:
                await self.send(batch)
            if not self.queue:
                self._idle.set()

    async def send(self, batch: Batch) -> None:
        """One report, with a claim when it frees room; on failure the batch goes back in
        front of the queue (and the claim's room back to the worker)."""
        claims = self.claims if batch.finishing else None
        reserved = claims.reserve() if claims is not None else 0
        got: list[AssignmentOut] = []
        asked = time.monotonic()
        self._finishing_sent = batch.finishing
        try:
            await self._send(batch, reserved, got)
        finally:
            self._finishing_sent = False
            if claims is not None:
                claims.claimed(got, asked, reserved)

    async def _send(self, batch: Batch, claim: int, got: list[AssignmentOut]) -> None:
        worker_id = self._worker_id()
        try:
            body = batch.body(claim)
        except ValidationError as exc:  # e.g. an id longer than the protocol allows
            log.error("report of %d items is invalid, dropped: %s", len(batch), exc)
            self._settle_refused(batch)
            return
        self.requests += 1
        try:
            out = await self._client.report(worker_id, body)
        except NotRegisteredError:
            self.queue.requeue(batch)
            await self._handler.on_forgotten(worker_id)
            return
        except UnreachableError as exc:
            log.warning("report of %d items failed: %s", len(batch), exc)
            self.queue.requeue(batch, keep_logs=not exc.maybe_applied)
            await asyncio.sleep(self._backoff.next())
            return
        except ApiError as exc:
            await self._refused(batch, exc)
            return
        self._backoff.reset()
        got += out.assignments
        await self._apply(batch, out)

    def _poke(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def _refused(self, batch: Batch, exc: ApiError) -> None:
        if exc.status >= 500 or exc.status == 429:  # not recorded: send it all again
            log.warning("report of %d items failed: %s", len(batch), exc)
            self.queue.requeue(batch)
            await asyncio.sleep(self._backoff.after(exc))
            return
        log.error("report of %d items refused, dropped: %s", len(batch), exc)
        self._settle_refused(batch)

    def _settle_refused(self, batch: Batch) -> None:
        for item in batch.starts:
            _resolve(self._starts.pop((item.run_id, item.fence), None), False)
        for item in batch.completions:
            self._handler.on_settled(item.run_id, item.fence)

    async def _apply(self, batch: Batch, out: ReportOut) -> None:
        for item, result in _paired(batch.starts, out.starts):
            await self._started(item, result)
        for item, result in _paired(batch.logs, out.logs):
            if result is not None and not result.ok:
                await self._failed(item, result)
        for item, result in _paired(batch.completions, out.completions):
            if result is not None and not result.ok:
                await self._failed(item, result)
            self._handler.on_settled(item.run_id, item.fence)
            self.queue.forget(item.run_id)  # nothing more comes after a completion
        for item, result in _paired(batch.releases, out.releases):
            if result is not None and not result.ok:  # not ours any more: nothing to do
                log.info(
                    "run %s (fence %d) was not handed back: it is %s",
                    item.run_id,
                    item.fence,
                    result.status,
                )

    async def _started(self, item: Item, result: ReportItem | None) -> None:
        ok = result is None or result.ok
        _resolve(self._starts.pop((item.run_id, item.fence), None), ok)
        if result is not None and not ok:
            await self._failed(item, result)

    async def _failed(self, item: Item, result: ReportItem) -> None:
        if result.error == STALE:
            log.warning("run %s (fence %d) is stale: killing it", item.run_id, item.fence)
            self.drop_run(item.run_id, item.fence)
            await self._handler.on_stale(item.run_id, item.fence)
        else:
            log.warning(
                "%s of run %s refused: %s (%s)",
                item.kind,
                item.run_id,
                result.error,
                result.status,
            )


def _paired(items: Sequence[Item], results: Sequence[T]) -> Iterator[tuple[Item, T | None]]:
    """Items with their answers, in order; a short answer leaves the rest unanswered (None)."""
    for index, item in enumerate(items):
        yield item, results[index] if index < len(results) else None


def _resolve(future: asyncio.Future[bool] | None, value: bool) -> None:
    if future is not None and not future.done():
        future.set_result(value)
