"""The worker process: register, heartbeat, claim, execute, report, and shut down gracefully.

The hot path is a pipeline of small steps per claimed run: take the run lock
``run:{id}:{fence}`` → confirm the start (batched) → execute outside this process, streaming
output → queue the completion → release the lock. Background loops: claims (long-poll, only
while slots are free), the reporter (batched reports), heartbeats and the lease watchdog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Coroutine, Sequence
from typing import Any, TextIO

from tickwork import __version__
from tickwork.client.errors import ApiError, ClientError, NotRegisteredError
from tickwork.client.worker_protocol import WorkerProtocolClient
from tickwork.coord.base import Locks
from tickwork.domain.leases import LeaseSettingsError, LeaseTiming, lease_timing, max_interval
from tickwork.domain.secrets import SecretError
from tickwork.schemas.workers import AssignmentOut, ClaimIn, RunFence, WorkerRegisterIn
from tickwork.worker.backoff import Backoff
from tickwork.worker.executors import ExecutionResult, Executors, OutputSink
from tickwork.worker.executors.base import Stream
from tickwork.worker.heartbeat import Heartbeat
from tickwork.worker.locking import RunLocks
from tickwork.worker.reporter import Reporter
from tickwork.worker.runs import HeldRun, RunBook, completion_for, execution_request
from tickwork.worker.waiting import set_within

__all__ = ["Worker", "heartbeat_timing"]

log = logging.getLogger(__name__)

MAX_CLAIM_WAIT = 20.0
"""Longest claim long-poll the worker asks for (the coordinator may cap it lower)."""

FLUSH_WITHIN = 15.0
"""How long shutdown waits for the last reports to be answered."""

EMPTY_CLAIM_PAUSE = 1.0
"""At least this long between claims that come back empty."""

RETRY = frozenset({404, 408, 429})
"""Client errors a registration retries (the others will not change by waiting)."""

KILL_SLACK = 5.0
"""After the kill grace period, how long shutdown still waits for killed runs to end."""


class Worker:
    """One worker: ``await worker.run()`` until ``worker.request_stop()``."""

    def __init__(
        self,
        server: str,
        tags: Sequence[str] = ("default",),
        concurrency: int = 4,
        *,
        token: str | None = None,
        import_paths: Sequence[str] = (),
        heartbeat_interval: float | None = None,
        grace_period: float = 10.0,
        shutdown_grace: float = 30.0,
        redis_url: str | None = None,
        redis_prefix: str = "tickwork",
        hostname: str | None = None,
        max_runs_per_child: int = 1000,
        preload: Sequence[str] = (),
        secrets: Sequence[str] = (),
        locks: Locks | None = None,
        client: WorkerProtocolClient | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        host = hostname or socket.gethostname()
        self.server = server
        self.concurrency = concurrency
        self.grace_period = grace_period
        self.shutdown_grace = shutdown_grace
        self.secrets = frozenset(secrets)
        """The only names ``{"$secret": NAME}`` may resolve (never tickwork's own)."""
        self.registration = WorkerRegisterIn(
            hostname=host,
            pid=os.getpid(),
            tags=list(tags),
            concurrency=concurrency,
            version=__version__,
        )
        self.client = client or WorkerProtocolClient(server, token=token)
        self.executors = Executors(
            pool_size=concurrency,
            max_runs_per_child=max_runs_per_child,
            grace_period=grace_period,
            import_paths=import_paths,
            preload=preload,
        )
        self.locks = RunLocks(
            f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            locks=locks,
            redis_url=redis_url,
            redis_prefix=redis_prefix,
        )
        self.worker_id = ""
        self.claim_wait = MAX_CLAIM_WAIT
        self.registered = asyncio.Event()
        self.reporter = Reporter(self.client, lambda: self.worker_id, self)
        self.book = RunBook(self.reporter, self.executors)
        self.heartbeat = Heartbeat(self.client, self)
        self._owns_client = client is None
        self._stdout = stdout
        self._heartbeat_interval = heartbeat_interval
        self._stop = asyncio.Event()
        self._hurry = False
        self._killing = False
        self._slot_freed = asyncio.Event()
        self._register_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._claims: asyncio.Task[None] | None = None
        self._claims_backoff = Backoff()

    # -- life cycle ----------------------------------------------------------------------

    async def run(self) -> None:
        """Register, then claim and execute until ``request_stop()``; then shut down gracefully."""
        await self.executors.start()
        try:
            if await self._register_until_ok():
                self._announce()
                self._start_loops()
                await self._stop.wait()
                await self._shutdown()
        finally:
            await self._close()

    def request_stop(self) -> None:
        """Stop claiming and shut down gracefully; a second call also cuts the grace period."""
        if self._stop.is_set():
            self._hurry = True
            self._slot_freed.set()
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def _register_until_ok(self) -> bool:
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                await self._register()
            except ClientError as exc:
                if isinstance(exc, ApiError) and exc.status < 500 and exc.status not in RETRY:
                    raise  # bad token, bad tags: retrying will not help
                log.warning("registration with %s failed: %s", self.server, exc)
                await set_within(self._stop, backoff.after(exc))
            else:
                return True
        return False

    async def _register(self) -> None:
        sent = time.monotonic()
        out = await self.client.register(self.registration)
        try:
            timing = heartbeat_timing(
                out.lease_seconds, out.heartbeat_interval, self._heartbeat_interval
            )
        except LeaseSettingsError:
            with contextlib.suppress(ClientError):  # leave no worker behind to be marked lost
                await self.client.deregister(out.id)
            raise
        self.worker_id = out.id
        self.claim_wait = min(out.claim_wait, MAX_CLAIM_WAIT)
        self.heartbeat.timing = timing
        self.heartbeat.reset(sent)
        self.registered.set()
        log.info(
            "registered as %s with %s (lease %gs, heartbeat every %gs)",
            out.id,
            self.server,
            timing.hold,
            timing.interval,
        )

    def _announce(self) -> None:
        out = self._stdout or sys.stdout
        out.write(f"Worker {self.worker_id} registered\nListening for jobs...\n")
        out.flush()

    def _start_loops(self) -> None:
        self._claims = self._spawn(self._claim_loop(), "claims")
        self._loops = [
            self._claims,
            self._spawn(self.reporter.run(), "reporter"),
            self._spawn(self.heartbeat.run(), "heartbeat"),
            self._spawn(self.heartbeat.watch(), "lease-watchdog"),
        ]

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=f"tickwork-worker-{name}")
        task.add_done_callback(self._loop_ended)
        return task

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        log.error("worker loop %s ended: stopping", task.get_name(), exc_info=task.exception())
        self.request_stop()

    async def _shutdown(self) -> None:
        if self._claims is not None:
            await _cancel(self._claims)  # no new runs
        log.info("stopping: waiting up to %gs for %d runs", self.shutdown_grace, len(self._tasks))
        if not await self._drain(self.shutdown_grace):
            await self._kill_remaining()
        if not await self.reporter.flush(FLUSH_WITHIN):
            log.warning("%d report items undelivered at shutdown", len(self.reporter.queue))
        await self._deregister()

    async def _kill_remaining(self) -> None:
        log.warning("grace period over: stopping %d runs", len(self._tasks))
        self._killing = True
        await self.book.kill_all("shutdown")
        if not await self._drain(self.grace_period + KILL_SLACK, hurry=False):
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _drain(self, within: float, *, hurry: bool = True) -> bool:
        """Wait for the runs to end; False after ``within`` s (or at a second stop request)."""
        deadline = time.monotonic() + within
        while self._tasks and not (hurry and self._hurry):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._slot_freed.clear()
            await set_within(self._slot_freed, left)
        return not self._tasks

    async def _deregister(self) -> None:
        with contextlib.suppress(NotRegisteredError):
            try:
                await self.client.deregister(self.worker_id)
            except ClientError as exc:
                log.warning("deregistration of %s failed: %s", self.worker_id, exc)
                return
        log.info("worker %s deregistered", self.worker_id)

    async def _close(self) -> None:
        tasks = [*self._loops, *self._tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self.executors.stop()
        finally:
            if self._owns_client:
                await self.client.aclose()
            await self.locks.close()

    # -- claims --------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while True:
            limit = await self._free_slots()
            asked = time.monotonic()
            assignments = await self._claim(limit)
            for assignment in assignments:
                self._launch(assignment)
            if not assignments:  # a coordinator that does not long-poll: do not spin
                await asyncio.sleep(max(0.0, EMPTY_CLAIM_PAUSE - (time.monotonic() - asked)))

    async def _free_slots(self) -> int:
        while (free := self.concurrency - len(self._tasks)) <= 0:
            self._slot_freed.clear()
            await self._slot_freed.wait()
        return min(free, 1000)

    async def _claim(self, limit: int) -> list[AssignmentOut]:
        worker_id = self.worker_id
        try:
            out = await self.client.claim(worker_id, ClaimIn(limit=limit, wait=self.claim_wait))
        except NotRegisteredError:
            await self.on_forgotten(worker_id)
            return []
        except ClientError as exc:
            log.warning("claim failed: %s", exc)
            await asyncio.sleep(self._claims_backoff.after(exc))
            return []
        self._claims_backoff.reset()
        return out.assignments

    def _launch(self, assignment: AssignmentOut) -> None:
        task = asyncio.create_task(self._serve_run(assignment), name=f"run {assignment.run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._run_ended)

    def _run_ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("run pipeline %s crashed", task.get_name(), exc_info=task.exception())

    # -- one run -------------------------------------------------------------------------

    async def _serve_run(self, assignment: AssignmentOut) -> None:
        if not await self.locks.take(assignment, self.heartbeat.lease):
            return
        held = HeldRun(assignment)
        self.book.add(held)
        if self._killing:
            held.kill("shutdown")
        try:
            self._finish(held, await self._execute(held))
        finally:
            self.reporter.forget(held.run_id, held.fence)
            await self.locks.release(assignment)

    async def _execute(self, held: HeldRun) -> ExecutionResult | None:
        """Confirm the start, then execute; None if the run must not (or did not) start."""
        held.started = self.reporter.start(held.run_id, held.fence)
        if not await held.started:
            if held.kill_reason is None:
                held.kill("stale")  # the coordinator refused the start: not ours
            return None
        if held.kill_reason is not None:
            return None
        try:
            request, held.mask = execution_request(held.assignment, self.secrets)
        except SecretError as exc:
            return ExecutionResult(status="failed", exit_code=None, error=str(exc))
        return await self.executors.execute(request, self._sink(held))

    def _sink(self, held: HeldRun) -> OutputSink:
        def sink(stream: Stream, text: str) -> None:
            text = held.shown(stream, text)
            if text:
                self.reporter.log(held.run_id, held.fence, stream, text)

        return sink

    def _finish(self, held: HeldRun, result: ExecutionResult | None) -> None:
        completion = completion_for(held, result)
        if completion is None:
            self.book.remove(held)
            self.reporter.drop_run(held.run_id, held.fence)
            return
        for stream, text in held.held_output():
            self.reporter.log(held.run_id, held.fence, stream, text)
        self.reporter.complete(completion)

    # -- what the heartbeat and the reporter ask for ----------------------------------------

    @property
    def runs(self) -> dict[str, HeldRun]:
        return self.book.runs

    def held_runs(self) -> list[RunFence]:
        return self.book.fences()

    async def on_cancel(self, run_ids: list[str]) -> None:
        for run_id in run_ids:
            await self.book.kill(run_id, "cancel")

    async def on_stale(self, run_id: str, fence: int) -> None:
        await self.book.kill(run_id, "stale", fence)

    def on_settled(self, run_id: str, fence: int) -> None:
        self.book.settled(run_id, fence)

    async def on_lease_lost(self, grace: float) -> None:
        await self.book.kill_all("lease_lost", grace=grace)

    async def on_forgotten(self, worker_id: str) -> None:
        """The coordinator forgot this worker (marked lost): its runs were reclaimed."""
        async with self._register_lock:
            if worker_id != self.worker_id:
                return  # someone else already registered again
            log.warning("the coordinator forgot worker %s: killing its runs", worker_id)
            await self.book.kill_all("forgotten")
            self.reporter.drop_all()
            if await self._register_until_ok():
                log.warning("registered again as %s", self.worker_id)
            else:
                await asyncio.sleep(1.0)  # stopping: do not spin on 404s until the end


def heartbeat_timing(hold: float, offered: float, asked: float | None) -> LeaseTiming:
    """The heartbeat timing for the coordinator's lease: its interval, or the worker's own
    (``--heartbeat-interval``), which is refused (``LeaseSettingsError``) if it cannot keep the
    lease. An interval the coordinator offers is only shortened if need be."""
    if asked is None:
        return lease_timing(lease=hold, interval=min(offered, max_interval(hold)))
    if asked > max_interval(hold):
        raise LeaseSettingsError(
            [
                f"--heartbeat-interval {asked:g} cannot keep the coordinator's lease of "
                f"{hold:g}s: two heartbeats must fit before the watchdog fires, so it must be "
                f"at most {max_interval(hold):g}s (or leave it unset "
                f"to use the coordinator's {offered:g}s)"
            ]
        )
    return lease_timing(lease=hold, interval=asked)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
