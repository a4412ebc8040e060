"""A fake coordinator for the worker runtime tests: the worker protocol, in memory, over real HTTP.

(A uniquely named module beside the tests that import it: tests dirs are not packages.)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tickwork.schemas.workers import (
    AssignmentOut,
    ClaimIn,
    ClaimOut,
    CompleteIn,
    HeartbeatIn,
    HeartbeatOut,
    LogIn,
    ReportIn,
    ReportItem,
    ReportOut,
    StartIn,
    WorkerRegisterIn,
    WorkerRegisterOut,
)
from tickwork.worker.runtime import Worker


@dataclass
class FakeRun:
    run_id: str
    type: str = "shell"
    command: str | None = None
    function: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    request: dict[str, Any] | None = None
    timeout: float = 60.0
    delivery: str = "at_least_once"
    fence: int = 0
    status: str = "queued"
    worker: str | None = None
    started: bool = False
    cancel_requested: bool = False
    stdout: str = ""
    stderr: str = ""
    completion: dict[str, Any] | None = None


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": None}}, status)


class FakeCoordinator:
    def __init__(
        self,
        *,
        lease: float = 90.0,
        heartbeat_interval: float = 30.0,
        claim_wait: float = 20.0,
        ack_timeout: float = 30.0,
        token: str | None = None,
        report_claims: bool = False,
    ) -> None:
        self.lease = lease
        self.report_claims = report_claims
        """Whether reports may carry claims (said at registration, as a coordinator does)."""
        self.most_held: dict[str, int] = {}
        """The most runs each worker held claimed or running at once."""
        self.ack_timeout = ack_timeout
        self.hold_reports = False
        """While True, reports are held open unanswered (a coordinator that cannot answer)."""
        self.heartbeat_interval = heartbeat_interval
        self.claim_wait = claim_wait
        self.token = token
        self.workers: dict[str, WorkerRegisterIn] = {}
        self.registrations: list[str] = []
        self.deregistered: list[str] = []
        self.runs: dict[str, FakeRun] = {}
        self.requests: Counter[str] = Counter()
        self.reports: list[ReportIn] = []
        self.heartbeats: list[tuple[str, HeartbeatIn]] = []
        self.fail_heartbeats = False
        self.released: list[str] = []
        self.closed = False
        self._ids = itertools.count(1)
        self._wake = asyncio.Event()  # anything changed: claims and waiters look again
        self.url = ""

    # -- test controls ------------------------------------------------------------------

    def add_run(self, command: str | None = None, **fields: Any) -> str:
        run_id = f"run-{next(self._ids)}"
        self.runs[run_id] = FakeRun(run_id, command=command, **fields)
        self._poke()
        return run_id

    def set_holding(self, hold: bool) -> None:
        self.hold_reports = hold
        self._poke()

    def cancel(self, run_id: str) -> None:
        self.runs[run_id].cancel_requested = True
        self._poke()

    def steal(self, run_id: str) -> None:
        """As if the lease passed to another worker: a new fence the worker does not hold."""
        run = self.runs[run_id]
        run.fence += 1
        run.worker = "worker-elsewhere"
        self._poke()

    def forget_worker(self, worker_id: str) -> None:
        del self.workers[worker_id]
        for run in self.runs.values():
            if run.worker == worker_id and run.status == "running":
                run.status, run.worker, run.started = "queued", None, False
        self._poke()

    async def wait_for(self, predicate: Callable[[], Any], within: float = 10.0) -> None:
        """Wait until ``predicate()`` is true, re-checking on every change (and every 50 ms)."""
        deadline = time.monotonic() + within
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"condition not met within {within}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed(), min(left, 0.05))

    def log_of(self, run_id: str) -> str:
        return self.runs[run_id].stdout

    def pid_of(self, run_id: str) -> int | None:
        for line in self.runs[run_id].stdout.splitlines():
            if line.startswith("pid="):
                return int(line[4:])
        return None

    # -- the app --------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/workers", self.register, methods=["POST"]),
                Route("/ping", self.ping, methods=["GET"]),
                Route("/api/workers/{wid}", self.deregister, methods=["DELETE"]),
                Route("/api/workers/{wid}/heartbeat", self.heartbeat, methods=["POST"]),
                Route("/api/workers/{wid}/claim", self.claim, methods=["POST"]),
                Route("/api/workers/{wid}/report", self.report, methods=["POST"]),
                Route("/api/runs/{rid}/start", self.run_start, methods=["POST"]),
                Route("/api/runs/{rid}/logs", self.run_log, methods=["POST"]),
                Route("/api/runs/{rid}/complete", self.run_complete, methods=["POST"]),
            ]
        )

    def _poke(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    def _changed(self) -> Coroutine[Any, Any, Any]:
        """Awaitable for the next change; bound to the current event now, so none is missed."""
        return self._wake.wait()

    def _denied(self, request: Request) -> Response | None:
        if self.token and request.headers.get("authorization") != f"Bearer {self.token}":
            return error(401, "unauthorized", "bad token")
        return None

    async def register(self, request: Request) -> Response:
        self.requests["register"] += 1
        if denied := self._denied(request):
            return denied
        body = WorkerRegisterIn.model_validate_json(await request.body())
        worker_id = f"worker-{next(self._ids)}"
        self.workers[worker_id] = body
        self.registrations.append(worker_id)
        self._poke()
        out = WorkerRegisterOut(
            id=worker_id,
            heartbeat_interval=self.heartbeat_interval,
            lease_seconds=self.lease,
            ack_timeout=self.ack_timeout,
            claim_wait=self.claim_wait,
            report_claims=self.report_claims,
        )
        return JSONResponse(out.model_dump(mode="json"), 201)

    async def deregister(self, request: Request) -> Response:
        wid = request.path_params["wid"]
        self.requests["deregister"] += 1
        if wid not in self.workers:
            return error(404, "not_found", "no such worker")
        del self.workers[wid]
        self.deregistered.append(wid)
        for run in self.runs.values():
            if run.worker == wid and run.status == "running" and not run.started:
                run.status, run.worker = "queued", None
        self._poke()
        return Response(status_code=204)

    async def heartbeat(self, request: Request) -> Response:
        wid = request.path_params["wid"]
        self.requests["heartbeat"] += 1
        if self.fail_heartbeats:
            return error(503, "unavailable", "heartbeats are failing (test)")
        body = HeartbeatIn.model_validate_json(await request.body())
        deadline = time.monotonic() + body.wait
        while wid in self.workers and not self._cancels(wid) and not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed(), left)
        if wid not in self.workers:
            return error(404, "not_found", "no such worker")
        self.heartbeats.append((wid, body))
        self._poke()
        stale = [r.run_id for r in body.runs if not self._owns(wid, r.run_id, r.fence)]
        out = HeartbeatOut(cancel=self._cancels(wid), stale=stale, lease_seconds=self.lease)
        return JSONResponse(out.model_dump(mode="json"))

    def _cancels(self, wid: str) -> list[str]:
        return [
            r.run_id
            for r in self.runs.values()
            if r.worker == wid and r.status == "running" and r.cancel_requested
        ]

    def _owns(self, wid: str, run_id: str, fence: int) -> bool:
        run = self.runs.get(run_id)
        return bool(run and run.worker == wid and run.fence == fence and run.status == "running")

    async def claim(self, request: Request) -> Response:
        wid = request.path_params["wid"]
        self.requests["claim"] += 1
        if wid not in self.workers:
            return error(404, "not_found", "no such worker")
        body = ClaimIn.model_validate_json(await request.body())
        arrived = time.monotonic()
        deadline = arrived + body.wait
        while not (picked := self._pick(wid, body.limit)):
            left = deadline - time.monotonic()
            if left <= 0 or wid not in self.workers or self.closed:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed(), left)
        held = time.monotonic() - arrived
        out = ClaimOut(assignments=[self._assignment(r, held) for r in picked])
        return JSONResponse(out.model_dump(mode="json"))

    def _pick(self, wid: str, limit: int) -> list[FakeRun]:
        if wid not in self.workers:  # forgotten while its claim was held open
            return []
        picked = [r for r in self.runs.values() if r.status == "queued"][:limit]
        for run in picked:
            run.status, run.worker, run.fence, run.started = "running", wid, run.fence + 1, False
            run.stdout = run.stderr = ""  # output is kept per attempt
        if picked:
            held = sum(1 for r in self.runs.values() if r.worker == wid and r.status == "running")
            self.most_held[wid] = max(self.most_held.get(wid, 0), held)
            self._poke()
        return picked

    def _assignment(self, run: FakeRun, held: float) -> AssignmentOut:
        now = datetime.now(UTC)
        return AssignmentOut(
            run_id=run.run_id,
            job_id="job-1",
            job_name="job",
            attempt=1,
            fence=run.fence,
            idempotency_key=run.run_id,
            parameters=run.parameters,
            type=run.type,  # type: ignore[arg-type]
            function=run.function,
            command=run.command,
            request=run.request,
            timeout=run.timeout,
            isolation="pool",
            delivery=run.delivery,  # type: ignore[arg-type]
            lease_expires_at=now + timedelta(seconds=self.lease),
            ack_deadline=now + timedelta(seconds=self.ack_timeout),
            claim_held=held,
        )

    async def ping(self, request: Request) -> Response:
        """A target for http jobs."""
        self.requests["ping"] += 1
        return JSONResponse({"pong": True})

    async def report(self, request: Request) -> Response:
        wid = request.path_params["wid"]
        self.requests["report"] += 1
        if wid not in self.workers:
            return error(404, "not_found", "no such worker")
        body = ReportIn.model_validate_json(await request.body())
        while self.hold_reports and not self.closed:
            await self._changed()
        self.reports.append(body)
        out = ReportOut(
            starts=[self._start(s.run_id, s.fence) for s in body.starts],
            logs=[self._log(c.run_id, c.fence, c.stream, c.data) for c in body.logs],
            completions=[self._complete(c.run_id, c) for c in body.completions],
            releases=[self._release(wid, r.run_id, r.fence) for r in body.releases],
        )
        if body.claim:
            assert self.report_claims, "a claim in a report the coordinator did not offer"
            out.assignments = [self._assignment(r, 0.0) for r in self._pick(wid, body.claim)]
        self._poke()
        return JSONResponse(out.model_dump(mode="json"))

    def _start(self, run_id: str, fence: int) -> ReportItem:
        run = self.runs.get(run_id)
        if run is None or run.fence != fence or run.status != "running":
            return ReportItem(run_id=run_id, ok=False, error="stale_fence")
        run.started = True
        return ReportItem(run_id=run_id, ok=True, status="running")

    def _release(self, wid: str, run_id: str, fence: int) -> ReportItem:
        if not self._owns(wid, run_id, fence) or self.runs[run_id].started:
            return ReportItem(run_id=run_id, ok=False, error="stale_fence")
        run = self.runs[run_id]
        run.status, run.worker = "queued", None
        self.released.append(run_id)
        return ReportItem(run_id=run_id, ok=True, status="queued")

    def _log(self, run_id: str, fence: int, stream: str, data: str) -> ReportItem:
        run = self.runs.get(run_id)
        if run is None or run.fence != fence or run.status != "running" or not run.started:
            return ReportItem(run_id=run_id, ok=False, error="stale_fence")
        setattr(run, stream, getattr(run, stream) + data)
        return ReportItem(run_id=run_id, ok=True, status="running")

    def _complete(self, run_id: str, c: CompleteIn) -> ReportItem:
        run = self.runs.get(run_id)
        outcome = c.model_dump(mode="json", exclude={"run_id"})
        if run is not None and run.completion == outcome:
            return ReportItem(run_id=run_id, ok=True, status=run.status)  # a repeat
        if run is None or run.fence != c.fence or run.status != "running":
            return ReportItem(run_id=run_id, ok=False, error="stale_fence")
        run.status, run.completion, run.started = c.status, outcome, True
        return ReportItem(run_id=run_id, ok=True, status=run.status)

    async def run_start(self, request: Request) -> Response:
        body = StartIn.model_validate_json(await request.body())
        return self._single(self._start(request.path_params["rid"], body.fence))

    async def run_log(self, request: Request) -> Response:
        body = LogIn.model_validate_json(await request.body())
        rid = request.path_params["rid"]
        return self._single(self._log(rid, body.fence, body.stream, body.data))

    async def run_complete(self, request: Request) -> Response:
        body = CompleteIn.model_validate_json(await request.body())
        return self._single(self._complete(request.path_params["rid"], body))

    def _single(self, item: ReportItem) -> Response:
        if not item.ok:
            return error(409, "stale_fence", "the run moved on")
        return JSONResponse({"run_id": item.run_id, "status": item.status})


@contextlib.asynccontextmanager
async def serving(fake: FakeCoordinator) -> AsyncIterator[FakeCoordinator]:
    """Serve the fake on 127.0.0.1 (a free port) in this event loop."""
    config = uvicorn.Config(
        fake.app(),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "fake coordinator did not start"
        assert not task.done(), "fake coordinator died"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        fake.closed = True  # end the long-polls still held open
        fake._poke()
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[asyncio.Task[None]]:
    """Run a worker until the block ends (or it stops by itself); its task is yielded."""
    task = asyncio.create_task(worker.run())
    registered = asyncio.create_task(worker.registered.wait())
    await asyncio.wait({task, registered}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    registered.cancel()
    if task.done():
        task.result()  # raise what stopped it
    assert worker.registered.is_set(), "worker did not register"
    try:
        yield task
    finally:
        worker.request_stop()
        await asyncio.wait_for(task, 60)


def make_worker(fake: FakeCoordinator, **options: Any) -> Worker:
    options = {"concurrency": 2, "grace_period": 0.5, "shutdown_grace": 10.0, **options}
    return Worker(fake.url, ("default",), **options)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
