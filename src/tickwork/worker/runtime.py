"""The worker process: register, heartbeat, claim, execute, report, and shut down gracefully.

The hot path per claim: take the claimed runs' locks ``run:{id}:{fence}`` (one round trip) →
each run executes as soon as a slot is free, outside this process, streaming output, its start
queued for the next report → its completion queued → its lock released (batched).

Two limits: ``concurrency`` runs in flight at most, of which at most ``processes`` hold a
process (sync python functions, shell commands); ``async def`` runs share async children's
event loops and http runs the worker's own loop, so ``concurrency`` may be far above
``processes``. The claims loop keeps up to ``prefetch`` runs claimed beyond the free slots, so a
slot that frees does not wait a claim round trip, and claims nothing more while runs wait for a
process beyond that (they would only be handed back). The ack watch (``acks``) hands back a
prefetched run that waited too long and stops a run whose start the coordinator did not confirm
in time. Background loops:
claims (long-poll), the reporter (batched reports), lock releases, heartbeats, the lease
watchdog and the ack watch.
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
from tickwork.domain.leases import (
    LeaseSettingsError,
    LeaseTiming,
    ack_window,
    lease_timing,
    max_interval,
)
from tickwork.domain.secrets import SecretError
from tickwork.schemas.workers import (
    MAX_RUNS_IN_FLIGHT,
    AssignmentOut,
    ClaimIn,
    RunFence,
    WorkerRegisterIn,
)
from tickwork.worker.acks import AckWatch
from tickwork.worker.backoff import Backoff
from tickwork.worker.executors import ExecutionResult, Executors, OutputSink
from tickwork.worker.executors.base import Slot, Stream
from tickwork.worker.executors.python import AsyncSettings
from tickwork.worker.heartbeat import Heartbeat
from tickwork.worker.locking import RunLocks
from tickwork.worker.reporter import Reporter
from tickwork.worker.runs import HeldRun, RunBook, completion_for, execution_request
from tickwork.worker.waiting import set_within
from tickwork.worker.waiting_runs import WaitingRuns

__all__ = [
    "MAX_CONCURRENCY",
    "MAX_PROCESSES",
    "Worker",
    "WorkerSettingsError",
    "default_prefetch",
    "heartbeat_timing",
]

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

MAX_CONCURRENCY = MAX_RUNS_IN_FLIGHT
"""The most runs one worker holds in flight (each costs the worker a few KiB and a lease)."""

MAX_PROCESSES = 1000
"""The most process slots (pre-forked children) one worker keeps."""

MAX_PREFETCH = 16
"""The most runs a worker claims beyond its free slots (by default)."""

START_LINGER = 0.25
"""A run's start is confirmed with its completion if it ends within this many seconds (one
write of the run, dated back by the run's own measure), else on its first output or when
this time is up (at most a quarter of the ack window's ``confirm_by``)."""

MAX_ELAPSED = 30 * 86400.0
"""The longest run time a completion can state (the protocol's limit)."""


def default_prefetch(concurrency: int) -> int:
    """Runs claimed ahead of free slots: a quarter of the slots, at most ``MAX_PREFETCH``;
    none below 4 slots (a run held behind a long one would wait rather than go elsewhere)."""
    return min(MAX_PREFETCH, concurrency // 4)


class WorkerSettingsError(ValueError):
    """A worker setting out of range (the message names the flag and the allowed range)."""


def _check_settings(concurrency: int, processes: int, async_per_child: int, stall: float) -> None:
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise WorkerSettingsError(
            f"--concurrency {concurrency}: must be between 1 and {MAX_CONCURRENCY}"
        )
    if not 1 <= processes <= min(concurrency, MAX_PROCESSES):
        raise WorkerSettingsError(
            f"--processes {processes}: must be between 1 and {min(concurrency, MAX_PROCESSES)} "
            f"(at most --concurrency, at most {MAX_PROCESSES})"
        )
    if not 1 <= async_per_child <= MAX_CONCURRENCY:
        raise WorkerSettingsError(
            f"--async-per-child {async_per_child}: must be between 1 and {MAX_CONCURRENCY}"
        )
    if not stall > 0:
        raise WorkerSettingsError(f"--stall-after {stall:g}: must be more than 0 seconds")


class Worker:
    """One worker: ``await worker.run()`` until ``worker.request_stop()``."""

    def __init__(
        self,
        server: str,
        tags: Sequence[str] = ("default",),
        concurrency: int = 4,
        *,
        processes: int | None = None,
        async_per_child: int = 500,
        stall_after: float = 1.0,
        prefetch: int | None = None,
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
        processes = min(concurrency, MAX_PROCESSES) if processes is None else processes
        _check_settings(concurrency, processes, async_per_child, stall_after)
        self.server = server
        self.concurrency = concurrency
        self.processes = processes
        """Process slots: runs that hold a process (sync python, shell) at once."""
        self.prefetch = default_prefetch(concurrency) if prefetch is None else max(0, prefetch)
        self._process_ahead = (
            self.prefetch
            if processes >= concurrency
            else min(self.prefetch, default_prefetch(processes))
        )
        """Runs that may wait for a process before claims pause (all of the prefetch when
        every slot is a process slot, as before ``--processes``)."""
        self._refill = max(1, self.prefetch // 2)
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
            pool_size=processes,
            asynchronous=AsyncSettings(
                per_child=async_per_child,
                max_children=-(-concurrency // async_per_child),
                stall_after=stall_after,
            ),
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
        self.reporter = Reporter(
            self.client, lambda: self.worker_id, self, claims=self, alone=self._alone
        )
        self.report_claims = False
        """Whether the coordinator takes claims carried by reports (it says so at
        registration)."""
        self._asked = 0
        """Runs asked for by claims in flight (the claim loop's or a report's)."""
        self.book = RunBook(self.reporter, self.executors)
        self.heartbeat = Heartbeat(self.client, self)
        self.acks = AckWatch(self, ack_window(30.0, self.heartbeat.timing))
        self._owns_client = client is None
        self._stdout = stdout
        self._heartbeat_interval = heartbeat_interval
        self._stop = asyncio.Event()
        self._hurry = False
        self._killing = False
        self._slot_freed = asyncio.Event()
        self._register_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._process_tasks: set[asyncio.Task[None]] = set()
        """The runs in ``_tasks`` that hold a process slot."""
        self._ready = WaitingRuns()
        """Claimed runs waiting for a slot (the prefetch)."""
        self._prefetching = True
        """False from a prefetched run handed back for waiting too long until a slot frees."""
        self._side: set[asyncio.Task[None]] = set()
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
            window = ack_window(out.ack_timeout, timing)
        except LeaseSettingsError:
            with contextlib.suppress(ClientError):  # leave no worker behind to be marked lost
                await self.client.deregister(out.id)
            raise
        self.worker_id = out.id
        self.claim_wait = min(out.claim_wait, MAX_CLAIM_WAIT)
        self.report_claims = out.report_claims
        self.heartbeat.timing = timing
        self.acks.window = window
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
            self._spawn(self.acks.watch(), "ack-watch"),
            self._spawn(self.locks.run(), "lock-releases"),
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
        for held in list(self._ready):  # prefetched runs not started go back to the queue
            self._ready.remove(held)
            self._hand_back(held)
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
        tasks = [*self._loops, *self._tasks, *self._side]
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
            limit = await self._wanted()
            asked = time.monotonic()
            self._asked += limit
            try:
                assignments = await self._claim(limit)
                if assignments:
                    await self._accept(assignments, asked)
            finally:
                self._asked -= limit
            if not assignments:  # a coordinator that does not long-poll: do not spin
                await asyncio.sleep(max(0.0, EMPTY_CLAIM_PAUSE - (time.monotonic() - asked)))

    async def _wanted(self) -> int:
        """How many runs to claim: the free slots plus the prefetch, less what is waiting.
        While prefetched runs wait, the next claim waits for room for half the prefetch, so
        that claims (and their lock round trips) come in batches, not one per freed slot.
        While a report that frees room is on its way, that report claims it instead."""
        while (
            (free := self._room()) < (self._refill if self._ready else 1)
            or self._backlog()
            or (self.report_claims and self.reporter.finishing)
        ):
            self._slot_freed.clear()
            await self._slot_freed.wait()
        return min(free, 1000)

    def _alone(self) -> bool:
        """At most the run whose report is leaving executes, and none waits to start."""
        return len(self._tasks) <= 1 and not self._ready

    def _room(self) -> int:
        ahead = self.prefetch if self._prefetching else 0
        return self.concurrency + ahead - len(self._tasks) - len(self._ready) - self._asked

    # -- claims carried by reports (ReportClaims) ------------------------------------------

    def reserve(self) -> int:
        if not self.report_claims or self.stopping or self._claims is None:
            return 0  # not taking runs (not started, or shutting down)
        free = self._room()
        if free < 1 or self._backlog():
            return 0
        taken = min(free, 1000)
        self._asked += taken
        return taken

    def claimed(self, assignments: list[AssignmentOut], asked: float, reserved: int) -> None:
        if assignments and self.stopping:  # claimed as the worker began to stop: never started
            for a in assignments:
                self.reporter.release(a.run_id, a.fence)
            assignments = []
        if assignments:
            self._side_task(self._take_claimed(assignments, asked, reserved))
            return
        self._asked -= reserved
        self._slot_freed.set()  # the claim loop looks again (the report is no longer on its way)

    async def _take_claimed(
        self, assignments: list[AssignmentOut], asked: float, reserved: int
    ) -> None:
        try:
            await self._accept(assignments, asked)
        finally:
            self._asked -= reserved
            self._slot_freed.set()

    def _backlog(self) -> bool:
        """Runs wait for a process beyond the process prefetch: claim nothing until one
        starts or is handed back (the next claim could bring more of them)."""
        free = max(0, self.processes - len(self._process_tasks))
        return self._ready.waiting_for("process") > free + self._process_ahead

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

    async def _accept(self, assignments: list[AssignmentOut], asked: float) -> None:
        """Runs a claim sent at ``asked`` gave: locked, tracked, then started or queued."""
        for assignment in await self.locks.take(assignments, self.heartbeat.lease):
            # the coordinator claimed it no earlier than the send plus the time it held the
            # request (a long-poll): the ack window counts from then
            claimed = asked + max(0.0, assignment.claim_held)
            held = HeldRun(assignment, claimed=claimed, slot=self._known_slot(assignment))
            self.book.add(held)
            self.acks.expect(held.run_id, held.fence, claimed)
            self._ready.append(held)
            if held.slot is None:
                self._side_task(self._place(held))
        self._dispatch()

    def _known_slot(self, a: AssignmentOut) -> Slot | None:
        return self.executors.known_slot(a.type, a.function, a.isolation)

    async def _place(self, held: HeldRun) -> None:
        """Find out which slot a python run needs (is its function an ``async def``?)."""
        a = held.assignment
        slot = await self.executors.slot(a.type, a.function, a.isolation)
        if self._ready.place(held, slot):
            self._dispatch()

    def _dispatch(self) -> None:
        """Start waiting runs while slots are free."""
        while len(self._tasks) < self.concurrency:
            held = self._ready.next(process_free=len(self._process_tasks) < self.processes)
            if held is None:
                return
            task = asyncio.create_task(self._serve_run(held), name=f"run {held.run_id}")
            self._tasks.add(task)
            if held.slot == "process":
                self._process_tasks.add(task)
            task.add_done_callback(self._run_ended)

    def _run_ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._process_tasks.discard(task)
        self._prefetching = True
        self._dispatch()
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("run pipeline %s crashed", task.get_name(), exc_info=task.exception())

    def _sweep_ready(self) -> None:
        """Settle the waiting runs that were stopped: a cancelled one is reported cancelled
        (it never ran), any other is handed back."""
        stopped = [held for held in self._ready if held.kill_reason is not None]
        for held in stopped:
            self._ready.remove(held)
            if held.kill_reason == "cancel":
                self.acks.forget(held.run_id, held.fence)
                self._finish(held, None, None)
                self.locks.release(held.run_id, held.fence)
            else:
                self._hand_back(held)

    def _hand_back(self, held: HeldRun) -> None:
        """Give back the claim of a run that never started (queued again at once)."""
        self.acks.forget(held.run_id, held.fence)
        self.book.remove(held)
        if not held.dropped:
            self.reporter.release(held.run_id, held.fence)
        self.locks.release(held.run_id, held.fence)
        self._slot_freed.set()

    # -- one run -------------------------------------------------------------------------

    async def _serve_run(self, held: HeldRun) -> None:
        if self._killing:
            held.kill("shutdown")
        if held.kill_reason is not None and held.kill_reason != "cancel":
            self._hand_back(held)  # stopped before it started
            return
        began = time.monotonic()
        try:
            result = await self._execute(held)
            elapsed = time.monotonic() - began if result is not None else None
            self._finish(held, result, elapsed)
        finally:
            if held.start_timer is not None:  # a crashed pipeline: the claim goes back
                held.start_timer.cancel()
            self.acks.forget(held.run_id, held.fence)  # not executing any more
            self.reporter.forget(held.run_id)
            self.locks.release(held.run_id, held.fence)

    async def _execute(self, held: HeldRun) -> ExecutionResult | None:
        """Queue the start and execute at once; None if the run must not start."""
        if held.kill_reason is not None:
            return None  # cancelled while it waited: reported cancelled, never run
        self.acks.starting(held.run_id, held.fence)
        if held.assignment.delivery == "at_most_once":
            # at most once: run only once the coordinator has taken the start (a run whose
            # start it never took is queued again, so it must not have begun here)
            self._send_start(held)
            assert held.started is not None
            if not await held.started or held.kill_reason is not None:
                return None
        else:
            linger = min(START_LINGER, self.acks.window.confirm_by / 4)
            held.start_timer = asyncio.get_running_loop().call_later(linger, self._send_start, held)
        try:
            request, held.mask = execution_request(held.assignment, self.secrets)
        except SecretError as exc:
            return ExecutionResult(status="failed", exit_code=None, error=str(exc))
        return await self.executors.execute(request, self._sink(held))

    def _send_start(self, held: HeldRun) -> None:
        """Queue the run's start (once): before its first output, its completion, or when
        ``START_LINGER`` is up."""
        if held.started is not None:
            return
        if held.start_timer is not None:
            held.start_timer.cancel()
        held.started = self.reporter.start(held.run_id, held.fence)
        held.started.add_done_callback(lambda f: self._start_answered(held, f.result()))

    def _start_answered(self, held: HeldRun, ok: bool) -> None:
        """The coordinator took the start (the ack window closes) or refused it (stop)."""
        if ok:
            self.acks.confirmed(held.run_id, held.fence)
        elif held.kill_reason is None and self.book.runs.get(held.run_id) is held:
            self._side_task(self.book.kill(held.run_id, "stale", held.fence))

    def _side_task(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    def _sink(self, held: HeldRun) -> OutputSink:
        def sink(stream: Stream, text: str) -> None:
            text = held.shown(stream, text)
            if text:
                self._send_start(held)  # the coordinator takes output of a started run only
                self.reporter.log(held.run_id, held.fence, stream, text)

        return sink

    def _finish(self, held: HeldRun, result: ExecutionResult | None, elapsed: float | None) -> None:
        completion = completion_for(
            held, result, None if elapsed is None else min(elapsed, MAX_ELAPSED)
        )
        if completion is not None and result is not None:
            self._send_start(held)  # with the completion, in the same report if still queued
        elif held.start_timer is not None:
            held.start_timer.cancel()
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
        self._sweep_ready()

    async def on_stale(self, run_id: str, fence: int) -> None:
        await self.book.kill(run_id, "stale", fence)
        self._sweep_ready()

    def on_settled(self, run_id: str, fence: int) -> None:
        self.book.settled(run_id, fence)

    async def on_lease_lost(self, grace: float) -> None:
        await self.book.kill_all("lease_lost", grace=grace)
        self._sweep_ready()

    def hand_back(self, run_id: str, fence: int) -> None:
        """A prefetched run still waiting at its ack window's ``send_by``: give it back."""
        for held in self._ready:
            if held.run_id == run_id and held.fence == fence:
                self._ready.remove(held)
                self._hand_back(held)
                self._prefetching = False  # the slots are busy: claim no more ahead for now
                return

    async def on_unconfirmed(self, run_id: str, fence: int, grace: float) -> None:
        """Its start was not confirmed in time: stop it before the claim can pass elsewhere."""
        log.error("run %s (fence %d): start not confirmed in time, stopping it", run_id, fence)
        await self.book.kill(run_id, "unconfirmed", fence, grace=grace)

    async def on_forgotten(self, worker_id: str) -> None:
        """The coordinator forgot this worker (marked lost): its runs were reclaimed."""
        async with self._register_lock:
            if worker_id != self.worker_id:
                return  # someone else already registered again
            log.warning("the coordinator forgot worker %s: killing its runs", worker_id)
            await self.book.kill_all("forgotten")
            self.reporter.drop_all()
            self._sweep_ready()
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
