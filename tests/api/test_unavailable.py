"""A database that does not answer is a 503 with Retry-After on every route, never a 500 with
a traceback; a defect is a JSON 500 with a request id, its traceback only in the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import refusing_connections
from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.service.container import Container
from tickwork.testing import job_payload


@pytest.fixture
def settings(pg_database: str) -> Settings:
    return Settings(database_url=pg_database, auth=True, dashboard=False, token_cache_seconds=60)


@pytest.fixture
async def tokens(container: Container) -> dict[str, str]:
    return {
        role: (await container.tokens.create(name=role, role=role))[1]
        for role in ("admin", "worker")
    }


@pytest.fixture
async def api(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(
        app=create_app(container, manage_lifecycle=False), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_database_outage_is_503_with_retry_after_then_recovers(
    api: httpx.AsyncClient, tokens: dict[str, str], pg_database: str
) -> None:
    admin, work = bearer(tokens["admin"]), bearer(tokens["worker"])
    assert (await api.post("/api/jobs", json=job_payload("dbdown"), headers=admin)).is_success
    await api.post("/api/jobs/dbdown/trigger", headers=admin)
    wid = (await api.post("/api/workers", json={"hostname": "h", "pid": 1}, headers=work)).json()[
        "id"
    ]
    got = (await api.post(f"/api/workers/{wid}/claim", json={"limit": 1}, headers=work)).json()
    run_id, fence = got["assignments"][0]["run_id"], got["assignments"][0]["fence"]
    assert (
        await api.post(
            f"/api/runs/{run_id}/start", json={"worker_id": wid, "fence": fence}, headers=work
        )
    ).is_success
    completion = {"completions": [{"run_id": run_id, "fence": fence, "status": "completed"}]}

    calls: list[tuple[str, str, Any, dict[str, str]]] = [
        ("GET", "/api/jobs", None, admin),
        ("GET", f"/api/runs/{run_id}", None, admin),
        ("POST", "/api/jobs", job_payload("during"), admin),
        ("POST", "/api/jobs/dbdown/trigger", None, admin),
        ("GET", "/api/stats", None, admin),
        ("GET", "/metrics", None, admin),
        ("POST", "/api/workers", {"hostname": "h2", "pid": 2}, work),
        ("POST", f"/api/workers/{wid}/claim", {"limit": 1}, work),
        (
            "POST",
            f"/api/workers/{wid}/heartbeat",
            {"runs": [{"run_id": run_id, "fence": fence}]},
            work,
        ),
        ("POST", f"/api/workers/{wid}/report", completion, work),
        ("POST", f"/api/runs/{run_id}/complete", {"fence": fence, "status": "completed"}, work),
    ]
    with refusing_connections(pg_database):
        for method, path, body, headers in calls:
            r = await api.request(method, path, json=body, headers=headers)
            assert r.status_code == 503, (method, path, r.status_code, r.text)
            assert 1 <= int(r.headers["Retry-After"]) <= 5
            assert r.json()["error"]["code"] == "unavailable"
            assert "Traceback" not in r.text and "psycopg" not in r.text
        # the token was looked up before the outage (token_cache_seconds): who it is needs
        # no database, and every call above failed on the database, not on its token
        whoami = await api.get("/api/auth/whoami", headers=admin)
        assert whoami.status_code == 200 and whoami.json()["name"] == "admin"
        health = await api.get("/api/health")
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        assert health.json()["checks"]["database"].startswith("down")

    # the database is back: the same completion is recorded, once
    r = await api.post(f"/api/workers/{wid}/report", json=completion, headers=work)
    assert r.status_code == 200 and r.json()["completions"][0]["ok"], r.text
    run = (await api.get(f"/api/runs/{run_id}", headers=admin)).json()
    assert run["status"] == "completed"
    assert [a["status"] for a in run["attempts"]] == ["completed"]
    assert (await api.get("/api/jobs", headers=admin)).json()["total"] == 1  # "during" not made
    assert (await api.get("/api/health")).status_code == 200


async def test_a_defect_is_a_json_500_with_a_request_id_and_no_traceback(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("internal detail that must stay in the log")

    monkeypatch.setattr(container.jobs, "list_jobs", broken)
    with caplog.at_level(logging.ERROR, logger="tickwork.api.errors"):
        r = await api.get("/api/jobs", headers=bearer(tokens["admin"]))
    assert r.status_code == 500
    error = r.json()["error"]
    assert error["code"] == "internal"
    request_id = error["details"]["request_id"]
    assert r.headers["X-Request-Id"] == request_id and request_id in error["message"]
    assert "internal detail" not in r.text and "Traceback" not in r.text
    logged = [rec for rec in caplog.records if request_id in rec.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "internal detail" in str(logged[0].exc_info[1])
