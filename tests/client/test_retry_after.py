"""A coordinator whose database is down answers 503 with Retry-After: clients wait at least
that long (with jitter), then carry on; the worker's reporter loses nothing meanwhile."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tickwork.cli.common import describe
from tickwork.client import RetryPolicy, ServerError, WorkerProtocolClient
from tickwork.client.http import ApiTransport, retry_after, typed_error_from_response
from tickwork.schemas.workers import ClaimIn, CompletionIn, ReportItem
from tickwork.worker.backoff import Backoff
from tickwork.worker.batch import ReportQueue
from tickwork.worker.reporter import LINGER, Reporter

QUICK = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002)


def unavailable(seconds: str = "2") -> httpx.Response:
    return httpx.Response(
        503,
        headers={"Retry-After": seconds},
        json={"error": {"code": "unavailable", "message": "the database is unavailable"}},
    )


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays clients asked for, without waiting them."""
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def fake(seconds: float) -> None:
        delays.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr("tickwork.client.http.asyncio.sleep", fake)
    monkeypatch.setattr("tickwork.worker.reporter.asyncio.sleep", fake)
    return delays


def transport(handler: Callable[[httpx.Request], httpx.Response]) -> ApiTransport:
    return ApiTransport(
        "http://coordinator",
        retry=QUICK,
        transport=httpx.MockTransport(handler),
        errors=typed_error_from_response,
    )


async def test_an_idempotent_request_waits_retry_after_then_succeeds(slept: list[float]) -> None:
    answers = iter([unavailable("2"), unavailable("2"), httpx.Response(200, json={"ok": 1})])
    http = transport(lambda _: next(answers))
    try:
        r = await http.request("GET", "/api/jobs", idempotent=True)
    finally:
        await http.aclose()
    assert r.json() == {"ok": 1}
    assert len(slept) == 2 and all(2.0 <= d <= 3.0 for d in slept)  # the hint plus jitter
    assert len(set(slept)) == 2  # jittered: two clients told "2" do not return together


async def test_when_retries_run_out_the_error_carries_retry_after(slept: list[float]) -> None:
    http = transport(lambda _: unavailable("3"))
    try:
        with pytest.raises(ServerError) as caught:
            await http.request("GET", "/api/jobs", idempotent=True)
    finally:
        await http.aclose()
    assert caught.value.status == 503 and caught.value.retry_after == 3.0
    assert len(slept) == QUICK.attempts - 1
    line = describe(caught.value, "http://coordinator")
    assert "cannot reach its database" in line and "try again in 3 s" in line


async def test_a_claim_is_not_repeated_on_503_but_429_is_retried(slept: list[float]) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "1"}, json={"error": {}})
        return unavailable("1")

    async with WorkerProtocolClient(
        "http://coordinator", retry=QUICK, transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(Exception) as caught:
            await client.claim("w-1", ClaimIn(limit=1))
    assert len(calls) == 2  # the 429 again (never applied); the 503 not (it might have been)
    assert getattr(caught.value, "retry_after", None) == 1.0
    assert 1.0 <= slept[0] <= 1.5


def test_retry_after_reads_seconds_and_dates_and_caps_them() -> None:
    def answer(value: str, status: int = 503) -> httpx.Response:
        return httpx.Response(status, headers={"Retry-After": value})

    assert retry_after(answer("4")) == 4.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after(answer(later)) or 0) <= 30
    assert retry_after(answer("86400")) == 60.0
    assert retry_after(answer("soon")) is None
    assert retry_after(answer("4", status=500)) is None


def test_the_worker_backoff_honours_the_hint_with_jitter() -> None:
    backoff = Backoff(base=0.2, cap=5.0)
    error = ServerError(503, "unavailable", "down", retry_after=4.0)
    delays = [backoff.after(error) for _ in range(20)]
    assert all(4.0 <= d <= 7.5 for d in delays) and len(set(delays)) > 1  # cap 5, +50 %
    backoff.reset()
    assert backoff.after(RuntimeError("no hint")) <= 0.3


class Settled:
    def __init__(self) -> None:
        self.settled: list[tuple[str, int]] = []

    async def on_stale(self, run_id: str, fence: int) -> None:
        raise AssertionError(f"{run_id} is not stale")

    def on_settled(self, run_id: str, fence: int) -> None:
        self.settled.append((run_id, fence))

    async def on_forgotten(self, worker_id: str) -> None:
        raise AssertionError("the worker is not forgotten")


async def test_a_completion_answered_503_is_sent_again_and_recorded(slept: list[float]) -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) <= 2:
            return unavailable("1")
        item = ReportItem(run_id="run-1", ok=True, status="completed")
        return httpx.Response(
            200, json={"starts": [], "logs": [], "completions": [item.model_dump()]}
        )

    handler_ = Settled()
    async with WorkerProtocolClient(
        "http://coordinator", retry=QUICK, transport=httpx.MockTransport(handler)
    ) as client:
        reporter = Reporter(client, lambda: "w-1", handler_)
        reporter.log("run-1", 3, "stdout", "last words\n")
        reporter.complete(CompletionIn(run_id="run-1", fence=3, status="completed", exit_code=0))
        task = asyncio.create_task(reporter.run())
        try:
            assert await reporter.flush(10)
        finally:
            task.cancel()
    assert handler_.settled == [("run-1", 3)]
    assert all(b["completions"] and b["logs"] for b in bodies)  # nothing dropped meanwhile
    assert len(bodies) == 3
    backoffs = [d for d in slept if d != LINGER]  # the reports' own 2 ms linger aside
    assert backoffs and all(d >= 1.0 for d in backoffs)
    assert isinstance(reporter.queue, ReportQueue) and len(reporter.queue) == 0


@pytest.mark.parametrize("alone", [True, False])
async def test_a_report_lingers_only_while_other_runs_could_join_it(
    slept: list[float], alone: bool
) -> None:
    """A worker with nothing else executing sends its report at once (nothing can join it);
    one with other runs in flight waits the linger for their items."""
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        item = ReportItem(run_id="run-1", ok=True, status="completed")
        return httpx.Response(
            200, json={"starts": [], "logs": [], "completions": [item.model_dump()]}
        )

    async with WorkerProtocolClient(
        "http://coordinator", retry=QUICK, transport=httpx.MockTransport(handler)
    ) as client:
        reporter = Reporter(client, lambda: "w-1", Settled(), alone=lambda: alone)
        reporter.complete(CompletionIn(run_id="run-1", fence=3, status="completed", exit_code=0))
        task = asyncio.create_task(reporter.run())
        try:
            assert await reporter.flush(10)
        finally:
            task.cancel()
    assert len(bodies) == 1
    assert slept == ([] if alone else [LINGER])
