"""The worker protocol's use cases: register, heartbeat, claim (long-poll), report."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from tickwork.config import Settings
from tickwork.coord.base import Bus, Subscription
from tickwork.domain import ids
from tickwork.domain.clock import Clock
from tickwork.domain.errors import NotFound, StaleFence
from tickwork.domain.jobs import routes_for
from tickwork.domain.records import ClaimAsk, HeartbeatResult, Report, ReportResult
from tickwork.domain.runs import Assignment, Completion, Worker
from tickwork.store.base import Store

from .metrics import Metrics
from .notify import RUNS_READY, Notifier, worker_topic

ROUTE_CACHE_SECONDS = 10.0
DRAINING_SECONDS = 1.0
"""A coordinator that handed runs to a worker this recently sees a drain under way."""
HANDED = "handed"
"""What a report delivers to a long-poll it claimed for (the poll's own subscription)."""


@dataclass(slots=True, eq=False)
class _Poll:
    """A worker's long-poll claim waiting on this coordinator. A report of the same worker
    that frees room and carries no claim of its own (the worker's room is asked for by the
    poll) claims for the poll in the report's transaction and hands it the runs: the
    freed slot is refilled without a claim transaction of its own after the report."""

    routes: list[str]
    limit: int
    namespaces: Sequence[str] | None
    sub: Subscription
    owner: str | None = None
    """Who is claiming for the poll now: ``poll`` (itself) or ``report``; None: nobody."""
    handed: list[Assignment] = field(default_factory=list)
    handed_at: float = 0.0


class WorkerService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        bus: Bus,
        notifier: Notifier,
        settings: Settings,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.bus = bus
        self.notifier = notifier
        self.settings = settings
        self.metrics = metrics or Metrics()
        self._routes: dict[str, tuple[float, list[str]]] = {}
        self._polls: dict[str, _Poll] = {}
        self._claimed_at = float("-inf")
        self.draining = asyncio.Event()  # set when the coordinator stops: end long-polls

    def handing_out(self) -> bool:
        """Whether this coordinator handed runs to workers within ``DRAINING_SECONDS``."""
        return time.monotonic() - self._claimed_at < DRAINING_SECONDS

    def _handed_out(self, got: Sequence[Assignment] | None) -> None:
        if got:
            self._claimed_at = time.monotonic()

    async def _wait(self, sub: Subscription, seconds: float) -> str | None:
        """A message on ``sub`` within ``seconds``, or None; returns early when draining."""
        end = time.monotonic() + seconds
        while not self.draining.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return None
            got = await sub.wait(min(left, 0.25))
            if got is not None:
                return got
        return None

    async def register(
        self, *, hostname: str, pid: int, tags: list[str], concurrency: int, version: str
    ) -> Worker:
        routes_for(tags)  # validates the tag count
        now = self.clock.now()
        worker = Worker(
            id=ids.worker_id(),
            hostname=hostname,
            pid=pid,
            tags=tuple(tags),
            concurrency=concurrency,
            version=version,
            status="online",
            registered_at=now,
            last_heartbeat=now,
        )
        await self.store.workers.register(worker, now=now)
        await self.notifier.changed()
        return worker

    async def heartbeat(
        self, worker_id: str, runs: Sequence[tuple[str, int]], wait: float
    ) -> HeartbeatResult:
        result = await self.store.workers.heartbeat(
            worker_id, runs=runs, lease=self.settings.lease_seconds, now=self.clock.now()
        )
        if result.cancel or result.stale or wait <= 0:
            return result
        async with self.bus.subscribe(worker_topic(worker_id)) as sub:
            cancels = await self.store.workers.cancels(worker_id)
            if not cancels and await self._wait(sub, wait) is not None:
                cancels = await self.store.workers.cancels(worker_id)
        return HeartbeatResult(cancel=cancels, stale=[])

    async def claim(
        self,
        worker_id: str,
        *,
        limit: int,
        wait: float,
        namespaces: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> list[Assignment]:
        """Claim runs for a worker (long-poll); a worker token limited to ``namespaces`` or
        ``tags`` gets only runs of those namespaces, routed to those tags."""
        routes = _allowed(await self._routes_of(worker_id), tags)
        arrived = time.monotonic()
        if wait <= 0:
            return await self._claim_once(worker_id, routes, limit, namespaces)
        deadline = arrived + min(wait, self.settings.claim_wait)
        async with self.bus.subscribe(RUNS_READY) as sub:
            poll = _Poll(routes, limit, namespaces, sub)
            self._polls[worker_id] = poll
            try:
                while True:
                    if poll.owner == "report":  # it hands over what it claims, then wakes us
                        await sub.wait(self.settings.claim_wait)
                        continue
                    got, poll.handed = poll.handed, []
                    if got:
                        held = poll.handed_at - arrived
                    else:
                        held = time.monotonic() - arrived  # before the claim's time is taken
                        poll.owner = "poll"
                        try:
                            got = await self._claim_once(worker_id, routes, limit, namespaces)
                        finally:
                            poll.owner = None
                    left = deadline - time.monotonic()
                    if got or left <= 0 or limit <= 0 or self.draining.is_set():
                        return [replace(a, claim_held=held) for a in got]
                    # wake on a new run, or re-check at least every second (retry times, leases)
                    await self._wait(sub, min(left, 1.0))
                    sub.drain()
            finally:
                if self._polls.get(worker_id) is poll:
                    del self._polls[worker_id]

    async def _claim_once(
        self,
        worker_id: str,
        routes: list[str],
        limit: int,
        namespaces: Sequence[str] | None,
    ) -> list[Assignment]:
        got = await self.store.claims.claim(
            worker_id=worker_id,
            routes=routes,
            limit=limit,
            lease=self.settings.lease_seconds,
            ack_timeout=self.settings.ack_timeout,
            now=self.clock.now(),
            namespaces=namespaces,
        )
        self._handed_out(got)
        return got

    async def claim_after_report(
        self,
        worker_id: str,
        *,
        limit: int,
        namespaces: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> list[Assignment]:
        """The claim a report carries: at once, never waiting; nothing for a worker that is
        gone (its report was applied and is answered: the worker learns it is forgotten
        from its next request, not by losing the answers to this one)."""
        try:
            return await self.claim(
                worker_id, limit=limit, wait=0, namespaces=namespaces, tags=tags
            )
        except NotFound:
            return []

    async def _routes_of(self, worker_id: str) -> list[str]:
        """The routes a worker serves, cached briefly: a claim should not re-read the worker."""
        hit = self._routes.get(worker_id)
        if hit is not None and time.monotonic() - hit[0] < ROUTE_CACHE_SECONDS:
            return hit[1]
        worker = await self.store.workers.get(worker_id)
        if worker is None or worker.status == "offline":
            self._routes.pop(worker_id, None)
            raise NotFound(f"no worker '{worker_id}' (register again)")
        routes = routes_for(list(worker.tags))
        self._routes[worker_id] = (time.monotonic(), routes)
        return routes

    async def report(
        self,
        worker_id: str,
        *,
        starts: Sequence[tuple[str, int]],
        logs: Sequence[tuple[str, int, str, str]],
        completions: Sequence[Completion],
        releases: Sequence[tuple[str, int]] = (),
        claim: int = 0,
        namespaces: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Report:
        """Apply a worker's report; with ``claim``, then up to that many runs claimed for
        it at once (``Report.claimed``): in the report's own transaction where the store
        can (one commit for both), else in a claim of its own after it. A worker that is
        gone gets its report applied and answered, and nothing claimed.

        Without ``claim``, a report that frees room claims for the worker's long-poll
        waiting here, if any (``_Poll``), and hands it the runs."""
        ask = await self._ask(worker_id, claim, namespaces, tags) if claim > 0 else None
        poll = None if ask is not None or not completions else self._polls.get(worker_id)
        if poll is not None and (poll.owner is not None or poll.handed):
            poll = None
        if poll is not None:
            poll.owner, poll.handed_at = "report", time.monotonic()
            ask = self._claim_ask(worker_id, poll.routes, poll.limit, poll.namespaces)
        try:
            done = await self.store.reports.apply(
                worker_id,
                starts=starts,
                logs=logs,
                completions=completions,
                releases=releases,
                limit=self.settings.max_output_bytes,
                now=self.clock.now(),
                claim=ask,
            )
        except BaseException:
            if poll is not None:
                poll.owner = None
                poll.sub.deliver(HANDED)  # nothing handed: the poll claims for itself
            raise
        in_txn = done.claimed
        self._handed_out(in_txn)
        if poll is not None:
            poll.owner = None
            await self._hand(worker_id, poll, done.claimed or [])
            poll.sub.deliver(HANDED)  # the poll wakes to what was handed, or claims
            done = replace(done, claimed=None)
            ask = None
        settled = [r for r in done.completions if r.ok and r.outcome]
        self._observe(settled)
        if (settled or any(r.ok for r in done.releases)) and not _refilled(settled, in_txn):
            # a slot of a limited job came free, a retry or a dependent was queued: claims
            # waiting look again now, and again when a retry comes due
            await self.notifier.runs_ready()
            for r in settled:
                if r.not_before is not None:
                    self.notifier.runs_ready_at(r.not_before)
        else:
            await self.notifier.changed()
        claimed = done.claimed
        if ask is not None and claimed is None:
            claimed = await self.claim_after_report(
                worker_id, limit=claim, namespaces=namespaces, tags=tags
            )
        return Report(done.starts, done.logs, done.completions, done.releases, claimed)

    async def _hand(self, worker_id: str, poll: _Poll, claimed: list[Assignment]) -> None:
        """Give the runs a report claimed for ``poll`` to it; if it ended meanwhile (its
        request went away), they go back to the queue at once."""
        if not claimed:
            return
        if self._polls.get(worker_id) is poll:
            poll.handed = claimed
            return
        await self.store.reports.apply(
            worker_id,
            releases=[(a.run_id, a.fence) for a in claimed],
            limit=self.settings.max_output_bytes,
            now=self.clock.now(),
        )

    async def _ask(
        self,
        worker_id: str,
        limit: int,
        namespaces: Sequence[str] | None,
        tags: Sequence[str] | None,
    ) -> ClaimAsk | None:
        """The claim a report carries, on the routes the worker serves (a token limited to
        ``tags`` narrows them); None for a worker that is gone."""
        try:
            routes = _allowed(await self._routes_of(worker_id), tags)
        except NotFound:
            return None
        return self._claim_ask(worker_id, routes, limit, namespaces)

    def _claim_ask(
        self,
        worker_id: str,
        routes: Sequence[str],
        limit: int,
        namespaces: Sequence[str] | None,
    ) -> ClaimAsk:
        return ClaimAsk(
            worker_id=worker_id,
            routes=routes,
            limit=limit,
            lease=self.settings.lease_seconds,
            ack_timeout=self.settings.ack_timeout,
            namespaces=namespaces,
        )

    def _observe(self, settled: list[ReportResult]) -> None:
        for r in settled:
            if r.job_name:
                job = self.metrics.job(r.job_name)
                self.metrics.runs_finished.labels(job, r.outcome).inc()
                if r.duration is not None:
                    self.metrics.run_duration.labels(job).observe(r.duration)

    async def start_one(self, run_id: str, worker_id: str, fence: int) -> ReportResult:
        result = (
            await self.report(worker_id, starts=[(run_id, fence)], logs=[], completions=[])
        ).starts[0]
        return _raise_if_stale(result)

    async def log_one(self, run_id: str, fence: int, stream: str, data: str) -> ReportResult:
        result = (
            await self.report("", starts=[], logs=[(run_id, fence, stream, data)], completions=[])
        ).logs[0]
        return _raise_if_stale(result)

    async def complete_one(self, completion: Completion) -> ReportResult:
        result = (await self.report("", starts=[], logs=[], completions=[completion])).completions[
            0
        ]
        return _raise_if_stale(result)

    async def deregister(self, worker_id: str) -> None:
        self._routes.pop(worker_id, None)
        back = await self.store.workers.deregister(worker_id, now=self.clock.now())
        if back:
            await self.notifier.runs_ready()
        else:
            await self.notifier.changed()

    async def list_workers(self) -> list[Worker]:
        return await self.store.workers.all()


def _refilled(settled: list[ReportResult], claimed: list[Assignment] | None) -> bool:
    """Whether the claim made in the report's own transaction took, job by job, at least as
    many runs as the report ended: then every slot the report freed is taken again by the
    job it was freed from, nothing else was queued (that report went the short way), and
    waking every waiting claim would only have them look for nothing."""
    if not claimed or not settled:
        return False
    ended = Counter(r.job_id for r in settled)
    return Counter(a.job_id for a in claimed) >= ended


def _allowed(routes: list[str], tags: Sequence[str] | None) -> list[str]:
    """The routes a worker may claim on with a token limited to ``tags`` (None: all)."""
    if tags is None:
        return routes
    allowed = set(tags)
    return [r for r in routes if set(r.split(",")) <= allowed]


def _raise_if_stale(result: ReportResult) -> ReportResult:
    if not result.ok:
        raise StaleFence(
            f"run '{result.run_id}' is no longer owned by this fence "
            f"(it is {result.status or 'gone'}); stop it"
        )
    return result
