"""The worker protocol client: error mapping, auth and retries (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from test_runtime_support import FakeCoordinator, serving

from tickwork.client import (
    ApiError,
    NotRegisteredError,
    RetryPolicy,
    StaleFenceError,
    UnreachableError,
    WorkerProtocolClient,
)
from tickwork.schemas.workers import (
    ClaimIn,
    CompleteIn,
    HeartbeatIn,
    LogIn,
    ReportIn,
    RunFence,
    StartIn,
    WorkerRegisterIn,
)

FAST = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002)
HEARTBEAT_OK = {"cancel": ["run-9"], "stale": [], "lease_seconds": 90}


def client_for(handler: Callable[[httpx.Request], httpx.Response], **kw: object):
    return WorkerProtocolClient(
        "http://coordinator", transport=httpx.MockTransport(handler), retry=FAST, **kw
    )


def err(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": "m", "details": 1}})


async def test_typed_answers_and_bearer_token():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=HEARTBEAT_OK)

    async with client_for(handler, token="s3cret") as client:
        out = await client.heartbeat("worker-1", HeartbeatIn(runs=[RunFence(run_id="r", fence=2)]))
    assert out.cancel == ["run-9"]
    assert seen[0].url.path == "/api/workers/worker-1/heartbeat"
    assert seen[0].headers["authorization"] == "Bearer s3cret"
    assert json.loads(seen[0].content)["runs"] == [{"run_id": "r", "fence": 2}]


@pytest.mark.parametrize(
    ("response", "expected", "code"),
    [
        (err(409, "stale_fence"), StaleFenceError, "stale_fence"),
        (err(404, "not_found"), NotRegisteredError, "not_found"),
        (err(401, "unauthorized"), ApiError, "unauthorized"),
        (httpx.Response(422, json={"detail": [{"msg": "bad"}]}), ApiError, "validation_error"),
        (httpx.Response(500, text="<html>boom</html>"), ApiError, "http_500"),
    ],
)
async def test_error_answers_map_to_exceptions(response, expected, code):
    async with client_for(lambda _: response) as client:
        with pytest.raises(expected) as caught:
            await client.claim("worker-1", ClaimIn(limit=1))
    assert type(caught.value) is expected
    assert (caught.value.status, caught.value.code) == (response.status_code, code)


async def test_heartbeats_are_retried_after_connection_errors():
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ReadError("connection reset")
        return httpx.Response(200, json=HEARTBEAT_OK)

    async with client_for(handler) as client:
        out = await client.heartbeat("worker-1", HeartbeatIn())
    assert out.lease_seconds == 90
    assert len(calls) == 3


async def test_a_claim_that_may_have_reached_the_server_is_not_repeated():
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadError("connection reset")

    async with client_for(handler) as client:
        with pytest.raises(UnreachableError) as caught:
            await client.claim("worker-1", ClaimIn(limit=2))
    assert caught.value.maybe_applied
    assert len(calls) == 1


async def test_a_request_that_never_left_is_retried_until_the_attempts_run_out():
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused")

    async with client_for(handler) as client:
        with pytest.raises(UnreachableError) as caught:
            await client.report("worker-1", ReportIn(logs=[]))
    assert not caught.value.maybe_applied
    assert len(calls) == FAST.attempts


async def test_reports_with_log_chunks_are_not_repeated_but_503_completions_are():
    statuses = iter([503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["logs"]:
            raise httpx.ReadError("reset")
        return httpx.Response(next(statuses), json={"starts": [], "logs": [], "completions": []})

    async with client_for(handler) as client:
        with pytest.raises(UnreachableError):
            await client.report(
                "w", ReportIn.model_validate({"logs": [{"run_id": "r", "fence": 1, "data": "x"}]})
            )
        out = await client.report("w", ReportIn())
    assert out.completions == []


async def test_single_run_forms_against_a_served_fake():
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run("true")
        async with WorkerProtocolClient(fake.url) as client:
            reg = await client.register(WorkerRegisterIn(hostname="h", pid=1, tags=["default"]))
            claim = await client.claim(reg.id, ClaimIn(limit=5))
            assert [a.run_id for a in claim.assignments] == [run_id]
            fence = claim.assignments[0].fence
            await client.start(run_id, StartIn(worker_id=reg.id, fence=fence))
            await client.log(run_id, LogIn(fence=fence, data="hello\n"))
            done = CompleteIn(fence=fence, status="completed", exit_code=0)
            assert (await client.complete(run_id, done))["status"] == "completed"
            assert (await client.complete(run_id, done))["status"] == "completed"  # a repeat
            with pytest.raises(StaleFenceError):
                await client.log(run_id, LogIn(fence=fence - 1, data="late"))
            await client.deregister(reg.id)
            with pytest.raises(NotRegisteredError):
                await client.heartbeat(reg.id, HeartbeatIn())
        assert fake.runs[run_id].stdout == "hello\n"
