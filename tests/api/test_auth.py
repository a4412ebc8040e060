"""Authentication and roles: every route for every role, expiry, revocation, WS, audit."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tickwork.api.app import create_app
from tickwork.api.auth import GLOBAL, OPEN, PERMISSIONS
from tickwork.config import Settings
from tickwork.domain.auth import GRANTS
from tickwork.domain.clock import FakeClock
from tickwork.domain.queries import RunFilter
from tickwork.service.container import Container
from tickwork.testing import job_payload

from .tenancy import failed_run, pipeline_run

ROLES = ["viewer", "operator", "admin", "worker"]


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings(database_url=sqlite_url, auth=True)


@pytest.fixture
async def tokens(container: Container) -> dict[str, str]:
    out = {}
    for role in ROLES:
        _, secret = await container.tokens.create(name=f"{role}-token", role=role)
        out[role] = secret
    return out


def api_operations() -> list[tuple[str, str, str]]:
    """(operation id, method, path) of every documented route."""
    app = create_app(
        Container(Settings(database_url="sqlite:////tmp/tickwork-routes.db")),
        manage_lifecycle=False,
    )
    return [
        (op["operationId"], method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method, op in item.items()
    ]


def test_every_route_has_a_declared_permission() -> None:
    ops = {op for op, _, _ in api_operations()}
    assert len(ops) == len(api_operations()), "operation ids must be unique"
    assert ops - set(PERMISSIONS) == set(), "routes without a permission default to admin"
    assert set(PERMISSIONS) - ops == set(), "permissions for routes that do not exist"


MATRIX = [
    (op, method, path, role) for op, method, path in api_operations() for role in [None, *ROLES]
]


@pytest.mark.parametrize(
    ("op", "method", "path", "role"), MATRIX, ids=[f"{m[0]}-{m[3]}" for m in MATRIX]
)
async def test_role_matrix(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    op: str,
    method: str,
    path: str,
    role: str | None,
) -> None:
    url = re.sub(r"\{[^}]+\}", "x-unknown", path)
    headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
    body = {} if method in ("POST", "PUT") else None
    r = await api.request(method, url, headers=headers, json=body)
    permission = PERMISSIONS[op]
    if permission == OPEN:
        assert r.status_code not in (403,), r.text
    elif role is None:
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"] == "Bearer"
    elif permission in GRANTS[role]:
        assert r.status_code not in (401, 403), r.text
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"


async def test_bad_token_expiry_and_revocation(
    api: httpx.AsyncClient, container: Container, clock: FakeClock
) -> None:
    bad = await api.get("/api/jobs", headers={"Authorization": "Bearer tw_nope"})
    assert bad.status_code == 401 and bad.json()["error"]["message"] == "unknown token"
    record, secret = await container.tokens.create(
        name="short", role="viewer", expires_in=timedelta(hours=1)
    )
    auth = {"Authorization": f"Bearer {secret}"}
    assert (await api.get("/api/jobs", headers=auth)).status_code == 200
    clock.advance(hours=1, seconds=1)
    expired = await api.get("/api/jobs", headers=auth)
    assert expired.status_code == 401 and expired.json()["error"]["message"] == "token expired"
    _, other = await container.tokens.create(name="gone", role="admin")
    admin = {"Authorization": f"Bearer {other}"}
    assert (await api.get("/api/jobs", headers=admin)).status_code == 200
    tokens = (await api.get("/api/tokens", headers=admin)).json()
    gone_id = next(t["id"] for t in tokens if t["name"] == "gone")
    assert all("token" not in t for t in tokens)
    assert (await api.delete(f"/api/tokens/{gone_id}", headers=admin)).status_code == 204
    revoked = await api.get("/api/jobs", headers=admin)
    assert revoked.status_code == 401 and revoked.json()["error"]["message"] == "token revoked"
    del record


async def test_tokens_are_stored_only_as_hashes(
    api: httpx.AsyncClient, tokens: dict[str, str], sqlite_url: str
) -> None:
    made = await api.post(
        "/api/tokens",
        json={"name": "ci", "role": "operator"},
        headers={"Authorization": f"Bearer {tokens['admin']}"},
    )
    assert made.status_code == 201
    secret = made.json()["token"]
    data = Path(sqlite_url.removeprefix("sqlite:///")).read_bytes()  # noqa: ASYNC240
    assert secret.encode() not in data
    for value in tokens.values():
        assert value.encode() not in data


async def test_audit_records_who_did_what(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    op = {"Authorization": f"Bearer {tokens['operator']}"}
    job = (await api.post("/api/jobs", json=job_payload("audited"), headers=admin)).json()
    await api.post("/api/jobs/audited/trigger", headers=op)
    await api.post("/api/jobs/audited/pause", headers=op)
    await api.post("/api/jobs/audited/trigger", headers={"Authorization": "Bearer nope"})
    entries = (await api.get("/api/audit", headers=admin)).json()
    got = [(e["actor"], e["action"], e["target"]) for e in entries]
    assert got == [
        ("operator-token", "jobs-pause", "audited"),
        ("operator-token", "jobs-trigger", "audited"),
        ("admin-token", "jobs-create", job["id"]),
    ]
    assert (await api.get("/api/audit", headers=op)).status_code == 403


async def test_the_audit_entry_exists_before_the_response_completes(
    container: Container, tokens: dict[str, str]
) -> None:
    """A client that reads the audit log right after its write must find the write in it."""
    app = create_app(container, manage_lifecycle=False)
    body = json.dumps(job_payload("seen")).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "server": ("localhost", 80),
        "path": "/api/jobs",
        "raw_path": b"/api/jobs",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {tokens['admin']}".encode()),
        ],
    }
    sent: list[tuple[int, int]] = []  # (status, audit entries) when the last body part leaves
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            entries = await container.tokens.audit_log(
                limit=10, before=None, actor=None, action="jobs-create"
            )
            sent.append((status, len(entries)))

    await app(scope, receive, send)
    assert sent == [(201, 1)]


def test_websocket_refuses_anonymous_and_accepts_a_token(settings: Settings) -> None:
    container = Container(settings)
    ws_url = "ws://localhost/api/ws"
    with TestClient(create_app(container), base_url="http://localhost") as client:
        for bad in ({}, {"Authorization": "Bearer tw_wrong"}):
            with (
                client.websocket_connect(ws_url, headers=bad) as ws,
                pytest.raises(WebSocketDisconnect) as no,
            ):
                ws.receive_json()
            assert no.value.code == 4401  # a browser can tell this from a network drop
        assert client.portal is not None
        _, secret = client.portal.call(partial(container.tokens.create, name="ws", role="viewer"))
        _, worker = client.portal.call(partial(container.tokens.create, name="w", role="worker"))
        with (
            client.websocket_connect(
                ws_url, subprotocols=["tickwork", f"tickwork.bearer.{worker}"]
            ) as ws,
            pytest.raises(WebSocketDisconnect) as forbidden,
        ):
            ws.receive_json()
        assert forbidden.value.code == 4403
        _, admin = client.portal.call(partial(container.tokens.create, name="a", role="admin"))
        created = client.post(
            "/api/jobs", json=job_payload("seen"), headers={"Authorization": f"Bearer {admin}"}
        )
        assert created.status_code == 201
        # Accepted: the catch-up from ?since=0 brings the job's event. Reading it also means the
        # handler is past its token check when the test client leaves (and cancels it).
        with client.websocket_connect(
            f"{ws_url}?since=0", subprotocols=["tickwork", f"tickwork.bearer.{secret}"]
        ) as ws:
            ws.send_text("ping")  # the server ignores pings; the connection stays open
            assert ws.receive_json()["type"] == "job.created"
        with client.websocket_connect(
            f"{ws_url}?since=0", headers={"Authorization": f"Bearer {secret}"}
        ) as ws:
            assert ws.receive_json()["type"] == "job.created"


async def test_health_is_open_and_whoami_needs_a_token(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    assert (await api.get("/api/health")).status_code == 200
    assert (await api.get("/api/auth/whoami")).status_code == 401
    me = await api.get(
        "/api/auth/whoami", headers={"Authorization": f"Bearer {tokens['operator']}"}
    )
    assert me.json() == {
        "name": "operator-token",
        "role": "operator",
        "auth": True,
        "scopes": {"*": "operator"},
    }


@pytest.fixture
async def open_api(sqlite_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    c = Container(Settings(database_url=sqlite_url, auth=False), clock=clock)
    await c.start(background=False)
    transport = httpx.ASGITransport(app=create_app(c, manage_lifecycle=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client
    await c.stop()


async def test_auth_off_lets_everyone_in(open_api: httpx.AsyncClient) -> None:
    assert (await open_api.post("/api/jobs", json=job_payload("open"))).status_code == 201
    me = (await open_api.get("/api/auth/whoami")).json()
    assert me["auth"] is False


# --- namespace by role: every route, with a token of another namespace ------------------------

NAMESPACED = {"ref", "run_id", "dl_id", "namespace"}
"""Path parameters that name something of a namespace (or the namespace itself)."""


def _bodies(job_id: str, run_id: str, dl_id: str) -> dict[str, Any]:
    """What each write sends, aimed at the other namespace's objects."""
    return {
        "jobs-create": job_payload("intruder", namespace="other"),
        "jobs-replace": job_payload("theirs", namespace="other", command="false"),
        "jobs-patch": {"command": "false", "enabled": False},
        "runs-bulk": {"runs": [{"job": job_id}]},
        "runs-bulk-cancel": {"ids": [run_id]},
        "runs-bulk-retry": {"ids": [run_id]},
        "dead-letters-bulk": {"action": "replay", "ids": [dl_id]},
        "tokens-create": {"name": "x", "role": "admin"},
        "pipelines-create": {"name": "intruder", "tasks": [{"name": "t", **job_payload("t")}]},
        "pipelines-replace": {"name": "flow", "tasks": [{"name": "t", **job_payload("t")}]},
    }


NS_MATRIX = [(op, method, path, role) for op, method, path in api_operations() for role in ROLES]


@pytest.mark.parametrize(
    ("op", "method", "path", "role"), NS_MATRIX, ids=[f"{m[0]}-{m[3]}" for m in NS_MATRIX]
)
async def test_namespace_role_matrix(
    api: httpx.AsyncClient,
    container: Container,
    op: str,
    method: str,
    path: str,
    role: str,
) -> None:
    """A token with ``role`` in namespace payments only, on every route, aimed at a job, run
    and dead letter of namespace other: a route naming one of them answers 403 (naming the
    namespace) or, without the permission at all, 403; a list never shows them; nothing of
    the other namespace changes. Aimed at its own namespace's, the same call is allowed."""
    theirs = await failed_run(container, "other", "theirs")
    ours = await failed_run(container, "payments", "ours")
    aimed, mine_ = theirs, ours
    if op.startswith("pipeline"):  # aimed at a pipeline (and its run) of each namespace
        aimed = (*await pipeline_run(container, "other"), theirs[2])
        mine_ = (*await pipeline_run(container, "payments"), ours[2])
    _, secret = await container.tokens.create(name="scoped", scopes={"payments": role})
    headers = {"Authorization": f"Bearer {secret}"}
    permission = PERMISSIONS[op]
    if permission == OPEN:
        return
    params = set(re.findall(r"\{([^}]+)\}", path))
    r = await _call(api, method, path, op, aimed, "other", headers)
    if op in GLOBAL or permission not in GRANTS[role]:
        assert r.status_code == 403, r.text
    elif permission == "work":
        # the worker protocol's reports name a run and prove ownership by its fence, which
        # only the claim hands out, and a worker limited to payments never claims other's
        assert r.status_code not in (401, 403), r.text
    elif params & NAMESPACED or op in ("jobs-create", "runs-bulk", "pipelines-create"):
        assert r.status_code == 403, r.text
        assert "'other'" in r.json()["error"]["message"], r.text
        mine = await _call(api, method, path, op, mine_, "payments", headers)
        assert mine.status_code not in (401, 403), mine.text
    for ref in {*theirs, *aimed}:
        assert ref not in r.text, (op, r.text)
    await _unchanged(container, theirs)


async def _call(
    api: httpx.AsyncClient,
    method: str,
    path: str,
    op: str,
    target: tuple[str, str, str],
    namespace: str,
    headers: dict[str, str],
) -> httpx.Response:
    job_id, run_id, dl_id = target
    values = {"ref": job_id, "run_id": run_id, "dl_id": dl_id, "namespace": namespace}
    url = re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "x-unknown"), path)
    writes = ("POST", "PUT", "PATCH")
    body = _bodies(job_id, run_id, dl_id).get(op, {}) if method in writes else None
    if op in ("jobs-create", "jobs-replace", "pipelines-create", "pipelines-replace") and body:
        body = {**body, "namespace": namespace}
        if op == "jobs-replace":
            body["name"] = "theirs" if namespace == "other" else "ours"
    return await api.request(method, url, headers=headers, json=body)


async def _unchanged(c: Container, target: tuple[str, str, str]) -> None:
    job_id, run_id, dl_id = target
    job = await c.jobs.get(job_id)
    assert (job.spec.command, job.spec.enabled) == ("true", True)
    assert (await c.runs.get(run_id)).status == "failed"
    assert (await c.runs.dead_letter(dl_id)).resolved_at is None
    runs, _, _ = await c.runs.list_runs(RunFilter(job_id=job_id), limit=10, cursor=None)
    assert [r.id for r in runs] == [run_id]
    assert await c.store.jobs.get("intruder", namespace="other") is None
