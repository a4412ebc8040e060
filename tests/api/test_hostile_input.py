"""Hostile input is refused with 422 naming the field, on both backends, and writes nothing:
NUL anywhere, lone surrogates, integers past their column, booleans for integers.
Output a job produced is the exception: it is kept, with U+FFFD for what cannot be stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.service.container import Container
from tickwork.testing import job_payload

NUL = "\u0000"
BIG = 2**63  # one past the largest signed 64-bit integer


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, max_body_bytes=64 * 1024)


@pytest.fixture
async def api(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: a defect must show as the 500 a client would get
    transport = httpx.ASGITransport(
        app=create_app(container, manage_lifecycle=False), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


def shell(**fields: Any) -> dict[str, Any]:
    return job_payload("hostile", **fields)


# (method, path, json body, headers, the field the answer must name)
REFUSED: list[tuple[str, str, Any, dict[str, str], str]] = [
    ("POST", "/api/jobs", shell(command=f"echo {NUL}"), {}, "command"),
    ("POST", "/api/jobs", {**shell(), "name": f"a{NUL}b"}, {}, "name"),
    ("POST", "/api/jobs", shell(description=NUL), {}, "description"),
    ("POST", "/api/jobs", shell(timezone=f"UTC{NUL}"), {}, "timezone"),
    ("POST", "/api/jobs", shell(schedule=f"@daily{NUL}"), {}, "schedule"),
    ("POST", "/api/jobs", shell(tags=["ok", f"x{NUL}"]), {}, "tags.1"),
    ("POST", "/api/jobs", shell(depends_on=[NUL]), {}, "depends_on.0"),
    ("POST", "/api/jobs", shell(parameters={"k": f"v{NUL}"}), {}, "parameters.k"),
    ("POST", "/api/jobs", shell(parameters={"a": [1, {"b": NUL}]}), {}, "parameters.a.1.b"),
    ("POST", "/api/jobs", shell(parameters={f"k{NUL}": 1}), {}, "parameters"),
    (
        "POST",
        "/api/jobs",
        job_payload("h", type="http", request={"url": "http://x.test", "headers": {"A": NUL}}),
        {},
        "request.headers.A",
    ),
    (
        "POST",
        "/api/jobs",
        job_payload("h", type="http", request={"url": "http://x.test", "body": {"z": NUL}}),
        {},
        "request.body.z",
    ),
    ("POST", "/api/jobs", shell(retries=True), {}, "retries"),
    ("POST", "/api/jobs", shell(priority=BIG), {}, "priority"),
    ("GET", "/api/jobs/%00", None, {}, "ref"),
    ("GET", "/api/jobs?q=%00", None, {}, "q"),
    ("GET", "/api/jobs?tag=a%00", None, {}, "tag"),
    ("GET", "/api/jobs?cursor=%00", None, {}, "cursor"),
    ("GET", f"/api/jobs?limit={BIG}", None, {}, "limit"),
    ("GET", "/api/runs?job=%00", None, {}, "job"),
    ("GET", "/api/runs/run-%00", None, {}, "run_id"),
    ("GET", "/api/runs/run-x/logs?attempt=99999999999", None, {}, "attempt"),
    ("GET", "/api/events?job=%00", None, {}, "job"),
    ("GET", f"/api/events?before={BIG}", None, {}, "before"),
    ("GET", f"/api/audit?before={BIG}", None, {}, "before"),
    ("GET", f"/api/dead-letters?offset={BIG}", None, {}, "offset"),
    ("GET", "/api/schedules/preview?schedule=%00", None, {}, "schedule"),
    ("POST", "/api/jobs/hostile/trigger", None, {"Idempotency-Key": f"k{NUL}"}, "idempotency-key"),
    ("POST", "/api/jobs/hostile/trigger", {"idempotency_key": NUL}, {}, "idempotency_key"),
    ("POST", "/api/jobs/hostile/trigger", {"parameters": {"p": NUL}}, {}, "parameters.p"),
    (
        "POST",
        "/api/runs/bulk",
        {"runs": [{"job": "hostile", "parameters": {"x": NUL}}]},
        {},
        "runs.0.parameters.x",
    ),
    ("POST", "/api/runs/bulk", {"runs": [{"job": f"hostile{NUL}"}]}, {}, "runs.0.job"),
    ("POST", "/api/tokens", {"name": NUL, "role": "viewer"}, {}, "name"),
    ("POST", "/api/workers", {"hostname": f"h{NUL}", "pid": 1}, {}, "hostname"),
    ("POST", "/api/workers", {"hostname": "h", "pid": 2**31}, {}, "pid"),
    ("POST", "/api/workers", {"hostname": "h", "pid": 1, "tags": [NUL]}, {}, "tags.0"),
    ("POST", "/api/workers/%00/claim", {"limit": 1}, {}, "worker_id"),
    ("POST", "/api/workers/w/claim", {"limit": True}, {}, "limit"),
    (
        "POST",
        "/api/workers/w/heartbeat",
        {"runs": [{"run_id": "r", "fence": BIG}]},
        {},
        "runs.0.fence",
    ),
    (
        "POST",
        "/api/workers/w/heartbeat",
        {"runs": [{"run_id": NUL, "fence": 1}]},
        {},
        "runs.0.run_id",
    ),
    ("POST", "/api/runs/run-x/start", {"worker_id": NUL, "fence": 1}, {}, "worker_id"),
    ("POST", "/api/runs/run-x/complete", {"fence": BIG, "status": "completed"}, {}, "fence"),
    (
        "POST",
        "/api/runs/run-x/complete",
        {"fence": 1, "status": "failed", "exit_code": False},
        {},
        "exit_code",
    ),
    (
        "POST",
        "/api/runs/run-x/complete",
        {"fence": 1, "status": "failed", "exit_code": True},
        {},
        "exit_code",
    ),
    (
        "POST",
        "/api/runs/run-x/complete",
        {"fence": 1, "status": "failed", "exit_code": 2**31},
        {},
        "exit_code",
    ),
    ("POST", "/api/runs/run-x/logs", {"fence": -1, "data": "x"}, {}, "fence"),
    ("POST", "/api/runs/run-x/logs", {"fence": BIG, "data": "x"}, {}, "fence"),
    ("POST", "/api/runs/run-x/start", {"worker_id": "w", "fence": BIG}, {}, "fence"),
    (
        "POST",
        "/api/workers/w/report",
        {"starts": [{"run_id": "r", "fence": BIG}]},
        {},
        "starts.0.fence",
    ),
    (
        "POST",
        "/api/workers/w/report",
        {"logs": [{"run_id": "r", "fence": True, "data": ""}]},
        {},
        "logs.0.fence",
    ),
    (
        "POST",
        "/api/workers/w/report",
        {"completions": [{"run_id": "r", "fence": BIG, "status": "completed"}]},
        {},
        "completions.0.fence",
    ),
    # a worker holds at most 10,000 runs (its --concurrency) and claims no more at once
    ("POST", "/api/workers", {"hostname": "h", "pid": 1, "concurrency": 10_001}, {}, "concurrency"),
    ("POST", "/api/workers/w/claim", {"limit": 10_001}, {}, "limit"),
]


async def _state(api: httpx.AsyncClient) -> tuple[Any, ...]:
    jobs = (await api.get("/api/jobs")).json()
    runs = (await api.get("/api/runs")).json()
    workers = (await api.get("/api/workers")).json()
    return jobs["total"], runs["total"], len(workers)


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "field"),
    REFUSED,
    ids=[f"{m} {p.split('?')[0]} {f}" for m, p, _, _, f in REFUSED],
)
async def test_hostile_input_is_422_naming_the_field(
    api: httpx.AsyncClient,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    field: str,
) -> None:
    assert (await api.post("/api/jobs", json=job_payload("hostile"))).status_code == 201
    before = await _state(api)
    r = await api.request(method, path, json=body, headers=headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [d["field"] for d in error["details"]], error
    assert await _state(api) == before  # nothing written


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"name": "s", "type": "shell", "command": "echo \\ud800"}', "command"),
        (
            b'{"name": "s", "type": "shell", "command": "x", "parameters": {"a": "\\udfff"}}',
            "parameters.a",
        ),
        (
            b'{"name": "s", "type": "shell", "command": "x", "parameters": {"\\ud800": 1}}',
            "parameters",
        ),
        (
            b'{"name": "s", "type": "shell", "command": "x", "parameters": {"n": NaN}}',
            "parameters.n",
        ),
        (
            b'{"name": "s", "type": "shell", "command": "x", "parameters": {"n": [Infinity]}}',
            "parameters.n.0",
        ),
        (b'{"name": "s", "type": "shell", "command": "echo \xed\xa0\x80"}', "command"),
    ],
)
async def test_lone_surrogates_and_non_finite_numbers_are_refused(
    api: httpx.AsyncClient, raw: bytes, field: str
) -> None:
    r = await api.post("/api/jobs", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert field in [d["field"] for d in r.json()["error"]["details"]]
    assert (await api.get("/api/jobs")).json()["total"] == 0


async def test_integers_at_the_limits_are_accepted(api: httpx.AsyncClient) -> None:
    """The bounds are the columns' own: the largest fence and exit codes either way pass."""
    r = await api.post(
        "/api/runs/run-x/complete",
        json={"fence": 2**63 - 1, "status": "failed", "exit_code": -(2**31)},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_fence"
    r = await api.post("/api/workers", json={"hostname": "h", "pid": 2**31 - 1})
    assert r.status_code == 201
    big = {"hostname": "h", "pid": 1, "concurrency": 10_000}
    worker = await api.post("/api/workers", json=big)
    assert worker.status_code == 201, worker.text
    claim = await api.post(f"/api/workers/{worker.json()['id']}/claim", json={"limit": 10_000})
    assert claim.status_code == 200, claim.text
    listed = {w["id"]: w for w in (await api.get("/api/workers")).json()}
    assert listed[worker.json()["id"]]["concurrency"] == 10_000
    r = await api.get("/api/dead-letters", params={"offset": 2**31 - 1})
    assert r.status_code == 200 and r.json()["dead_letters"] == []


async def _running(api: httpx.AsyncClient) -> tuple[str, str, int]:
    """A run claimed and started by a registered worker: (worker id, run id, fence)."""
    await api.post("/api/jobs", json=job_payload("out"))
    await api.post("/api/jobs/out/trigger")
    worker = (await api.post("/api/workers", json={"hostname": "h", "pid": 1})).json()["id"]
    got = (await api.post(f"/api/workers/{worker}/claim", json={"limit": 1})).json()
    run_id, fence = got["assignments"][0]["run_id"], got["assignments"][0]["fence"]
    started = await api.post(
        f"/api/runs/{run_id}/start", json={"worker_id": worker, "fence": fence}
    )
    assert started.status_code == 200, started.text
    return worker, run_id, fence


async def test_output_with_nul_is_kept_with_a_replacement_character(
    api: httpx.AsyncClient,
) -> None:
    """A program may print NUL: the output, the error and the result are all recorded."""
    worker, run_id, fence = await _running(api)
    r = await api.post(
        f"/api/workers/{worker}/report",
        json={
            "logs": [{"run_id": run_id, "fence": fence, "data": f"a{NUL}b\n"}],
            "completions": [
                {
                    "run_id": run_id,
                    "fence": fence,
                    "status": "completed",
                    "exit_code": 0,
                    "error": f"e{NUL}",
                    "result": {f"k{NUL}": [f"v{NUL}", 1.5]},
                }
            ],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["completions"][0]["ok"]
    run = (await api.get(f"/api/runs/{run_id}")).json()
    assert run["status"] == "completed"
    assert run["output"] == "a\ufffdb\n"
    assert run["error"] == "e\ufffd"
    assert run["result"] == {"k\ufffd": ["v\ufffd", 1.5]}


async def test_a_log_chunk_with_a_lone_surrogate_is_kept(api: httpx.AsyncClient) -> None:
    _, run_id, fence = await _running(api)
    raw = b'{"fence": %d, "data": "x\\ud800y"}' % fence
    r = await api.post(
        f"/api/runs/{run_id}/logs", content=raw, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    logs = (await api.get(f"/api/runs/{run_id}/logs")).json()
    assert logs["stdout"] == "x\ufffdy"
