"""Namespaces over the API, on SQLite and PostgreSQL: names unique per namespace, lookups by
?namespace=, scoped tokens that can neither read nor change another namespace's jobs, runs,
dead letters or events (the WebSocket included), cross-namespace dependencies for admins."""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.service.container import Container
from tickwork.testing import job_payload, job_spec

from .tenancy import bearer, failed_run


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, auth=True)


async def test_names_are_unique_per_namespace(api: httpx.AsyncClient, container: Container) -> None:
    admin = await bearer(container, role="admin")
    a = await api.post("/api/jobs", json=job_payload("etl"), headers=admin)
    b = await api.post("/api/jobs", json=job_payload("etl", namespace="payments"), headers=admin)
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert (a.json()["namespace"], b.json()["namespace"]) == ("default", "payments")
    again = await api.post("/api/jobs?namespace=payments", json=job_payload("etl"), headers=admin)
    assert again.status_code == 409
    assert "namespace 'payments'" in again.json()["error"]["message"]
    got = await api.get("/api/jobs/etl", params={"namespace": "payments"}, headers=admin)
    assert got.json()["id"] == b.json()["id"]
    assert (await api.get("/api/jobs/etl", headers=admin)).json()["id"] == a.json()["id"]
    trig = await api.post("/api/jobs/etl/trigger?namespace=payments", headers=admin)
    run = await api.get(f"/api/runs/{trig.json()['run_id']}", headers=admin)
    assert run.json()["namespace"] == "payments"
    listed = await api.get("/api/runs", params={"namespace": "payments"}, headers=admin)
    assert [r["id"] for r in listed.json()["runs"]] == [trig.json()["run_id"]]
    assert (await api.get("/api/runs?namespace=default", headers=admin)).json()["runs"] == []
    spaces = (await api.get("/api/namespaces", headers=admin)).json()["namespaces"]
    assert [(n["name"], n["jobs"]) for n in spaces] == [("default", 1), ("payments", 1)]


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ({"json": job_payload("x", namespace="Payments")}, "namespace"),
        ({"json": job_payload("x"), "params": {"namespace": "a_b"}}, "namespace"),
        ({"json": job_payload("x", namespace="x" * 64)}, "namespace"),
    ],
)
async def test_a_bad_namespace_is_a_422_naming_it(
    api: httpx.AsyncClient, container: Container, where: dict[str, Any], field: str
) -> None:
    r = await api.post("/api/jobs", headers=await bearer(container, role="admin"), **where)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field


async def test_a_namespace_token_cannot_touch_another_namespace(
    api: httpx.AsyncClient, container: Container
) -> None:
    job_id, run_id, dl_id = await failed_run(container, "other", "theirs")
    mine = await container.jobs.create(job_spec("ours", namespace="payments"))
    op = await bearer(container, scopes={"payments": "operator"})
    forbidden = [
        ("GET", f"/api/jobs/{job_id}"),
        ("GET", "/api/jobs/theirs?namespace=other"),
        ("POST", f"/api/jobs/{job_id}/trigger"),
        ("POST", f"/api/jobs/{job_id}/pause"),
        ("GET", f"/api/jobs/{job_id}/runs"),
        ("GET", f"/api/runs/{run_id}"),
        ("GET", f"/api/runs/{run_id}/logs"),
        ("POST", f"/api/runs/{run_id}/retry"),
        ("POST", f"/api/runs/{run_id}/cancel"),
        ("POST", f"/api/dead-letters/{dl_id}/replay"),
        ("POST", f"/api/dead-letters/{dl_id}/resolve"),
        ("GET", "/api/namespaces/other"),
        ("GET", "/api/runs?namespace=other"),
        ("GET", f"/api/events?job={job_id}"),
    ]
    for method, url in forbidden:
        r = await api.request(method, url, headers=op)
        assert r.status_code == 403, (method, url, r.text)
        assert "'other'" in r.json()["error"]["message"], r.text
    bulk = await api.post("/api/runs/bulk", json={"runs": [{"job": job_id}]}, headers=op)
    assert bulk.status_code == 403
    retried = await api.post("/api/runs/bulk-retry", json={"ids": [run_id]}, headers=op)
    assert retried.json() == {"count": 0}
    dls = await api.post(
        "/api/dead-letters/bulk", json={"action": "resolve", "ids": [dl_id]}, headers=op
    )
    assert dls.json() == {"count": 0}
    lists = ("/api/jobs", "/api/runs", "/api/dead-letters", "/api/events")
    for url in (*lists, "/api/dag?namespace=payments"):
        got = await api.get(url, headers=op)
        assert got.status_code == 200, (url, got.text)
        assert job_id not in got.text and run_id not in got.text and dl_id not in got.text, url
    groups = await api.get("/api/dead-letters/groups", headers=op)
    assert groups.json()["items"] == []
    spaces = (await api.get("/api/namespaces", headers=op)).json()["namespaces"]
    assert [(n["name"], n["jobs"], n["role"], n["usage"]) for n in spaces] == [
        ("payments", 1, "operator", [])
    ]
    # its own namespace it may work in; nothing of the other changed
    ok = await api.post("/api/jobs/ours/trigger?namespace=payments", headers=op)
    assert ok.status_code == 202, ok.text
    listed = await api.get("/api/runs", headers=op)
    assert {r["namespace"] for r in listed.json()["runs"]} == {"payments"}
    assert (await container.runs.get(run_id)).status == "failed"
    assert (await container.runs.dead_letter(dl_id)).resolved_at is None
    assert (await container.jobs.get(job_id)).spec.enabled
    assert mine.spec.namespace == "payments"


async def test_a_viewer_of_every_namespace_but_one(
    api: httpx.AsyncClient, container: Container
) -> None:
    hidden, _, _ = await failed_run(container, "secret", "hidden")
    shown = await container.jobs.create(job_spec("shown"))
    who = await bearer(container, scopes={"*": "viewer", "secret": "worker"})
    jobs = (await api.get("/api/jobs", headers=who)).json()["jobs"]
    assert [j["id"] for j in jobs] == [shown.id]
    assert (await api.get(f"/api/jobs/{hidden}", headers=who)).status_code == 403
    assert (await api.get("/api/dead-letters", headers=who)).json()["total"] == 0


async def test_cross_namespace_dependencies_need_an_admin_of_both(
    api: httpx.AsyncClient, container: Container
) -> None:
    await container.jobs.create(job_spec("upstream", namespace="data"))
    payments_admin = await bearer(container, scopes={"payments": "admin", "data": "viewer"})
    body = job_payload("downstream", namespace="payments", depends_on=["data/upstream"])
    refused = await api.post("/api/jobs", json=body, headers=payments_admin)
    assert refused.status_code == 403
    assert "namespace 'data'" in refused.json()["error"]["message"]
    both = await bearer(container, scopes={"payments": "admin", "data": "admin"})
    made = await api.post("/api/jobs", json=body, headers=both)
    assert made.status_code == 201, made.text
    assert made.json()["depends_on"] == ["data/upstream"]
    up = await api.get("/api/jobs/upstream?namespace=data", headers=both)
    assert up.json()["dependents"] == ["payments/downstream"]
    dag = (await api.get("/api/dag?namespace=payments", headers=both)).json()
    assert dag["edges"] == [{"source": "data/upstream", "target": "downstream", "on": "success"}]
    plain = job_payload("same-ns", namespace="payments", depends_on=["upstream"])
    missing = await api.post("/api/jobs", json=plain, headers=both)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "depends_on"


async def test_a_job_cannot_move_namespace(api: httpx.AsyncClient, container: Container) -> None:
    admin = await bearer(container, role="admin")
    await api.post("/api/jobs", json=job_payload("stay"), headers=admin)
    moved = await api.put(
        "/api/jobs/stay", json=job_payload("stay", namespace="elsewhere"), headers=admin
    )
    assert moved.status_code in (404, 422), moved.text
    body_and_query = await api.put(
        "/api/jobs/stay?namespace=default",
        json=job_payload("stay", namespace="elsewhere"),
        headers=admin,
    )
    assert body_and_query.status_code == 422
    assert body_and_query.json()["error"]["details"][0]["field"] == "namespace"


async def test_audit_entries_name_the_namespace(
    api: httpx.AsyncClient, container: Container
) -> None:
    admin = await bearer(container, role="admin")
    await api.post("/api/jobs", json=job_payload("audited", namespace="payments"), headers=admin)
    await api.post("/api/jobs/audited/pause?namespace=payments", headers=admin)
    entries = (await api.get("/api/audit?namespace=payments", headers=admin)).json()
    assert [(e["action"], e["namespace"]) for e in entries] == [
        ("jobs-pause", "payments"),
        ("jobs-create", "payments"),
    ]
    scoped = await bearer(container, scopes={"payments": "admin"})
    assert (await api.get("/api/audit", headers=scoped)).status_code == 403
    assert (
        await api.post("/api/tokens", json={"name": "x", "role": "viewer"}, headers=scoped)
    ).status_code == 403


async def test_token_scopes_are_checked(api: httpx.AsyncClient, container: Container) -> None:
    admin = await bearer(container, role="admin")
    for scopes, field in (
        ({"Payments": "viewer"}, "scopes.Payments"),
        ({"payments": "boss"}, "scopes.payments"),
        ({}, "scopes"),
    ):
        r = await api.post("/api/tokens", json={"name": "x", "scopes": scopes}, headers=admin)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["field"] == field
    both = await api.post(
        "/api/tokens", json={"name": "x", "role": "viewer", "scopes": {"a": "admin"}}, headers=admin
    )
    assert both.status_code == 422
    made = await api.post(
        "/api/tokens",
        json={"name": "pay", "scopes": {"payments": "operator", "*": "viewer"}},
        headers=admin,
    )
    assert made.status_code == 201
    assert (made.json()["role"], made.json()["scopes"]) == (
        "viewer",
        {"payments": "operator", "*": "viewer"},
    )


def test_websocket_events_stay_in_their_namespace(settings: Settings) -> None:
    container = Container(settings)
    ws_url = "ws://localhost/api/ws?since=0"
    with TestClient(create_app(container), base_url="http://localhost") as client:
        assert client.portal is not None
        make = partial(container.tokens.create, name="pay")
        _, pay = client.portal.call(partial(make, scopes={"payments": "viewer"}))
        _, admin = client.portal.call(partial(container.tokens.create, name="a", role="admin"))
        auth = {"Authorization": f"Bearer {admin}"}
        for name, ns in (("a-theirs", "other"), ("b-ours", "payments"), ("c-theirs", "other")):
            made = client.post("/api/jobs", json=job_payload(name, namespace=ns), headers=auth)
            assert made.status_code == 201
        client.post("/api/jobs/c-theirs/trigger?namespace=other", headers=auth)
        client.post("/api/jobs/b-ours/trigger?namespace=payments", headers=auth)
        with client.websocket_connect(ws_url, headers={"Authorization": f"Bearer {pay}"}) as ws:
            first = ws.receive_json()
            second = ws.receive_json()
        assert (first["type"], first["data"]["name"], first["namespace"]) == (
            "job.created",
            "b-ours",
            "payments",
        )
        assert (second["type"], second["namespace"]) == ("run.queued", "payments")
        with (
            client.websocket_connect(
                "ws://localhost/api/ws?namespace=other", headers={"Authorization": f"Bearer {pay}"}
            ) as ws,
            pytest.raises(WebSocketDisconnect) as refused,
        ):
            ws.receive_json()
        assert refused.value.code == 4403
        with client.websocket_connect(ws_url, headers=auth) as ws:
            seen = {ws.receive_json()["namespace"] for _ in range(5)}
        assert seen == {"other", "payments"}


async def test_a_namespace_worker_token_claims_only_its_runs(
    api: httpx.AsyncClient, container: Container
) -> None:
    for name, ns in (("a", "other"), ("b", "payments"), ("c", "other"), ("d", "payments")):
        job = await container.jobs.create(job_spec(name, namespace=ns))
        await container.jobs.trigger(job.id)
    worker = await bearer(container, scopes={"payments": "worker"}, worker_tags=["default"])
    wider = await api.post(
        "/api/workers",
        json={"hostname": "h", "pid": 1, "tags": ["default", "gpu"], "concurrency": 4},
        headers=worker,
    )
    assert wider.status_code == 403 and "gpu" in wider.json()["error"]["message"]
    made = await api.post(
        "/api/workers",
        json={"hostname": "h", "pid": 1, "tags": ["default"], "concurrency": 4},
        headers=worker,
    )
    assert made.status_code == 201, made.text
    wid = made.json()["id"]
    got = await api.post(f"/api/workers/{wid}/claim", json={"limit": 10, "wait": 0}, headers=worker)
    assert sorted(a["job_name"] for a in got.json()["assignments"]) == ["b", "d"]
    again = await api.post(
        f"/api/workers/{wid}/claim", json={"limit": 10, "wait": 0}, headers=worker
    )
    assert again.json()["assignments"] == []
    everyone = await bearer(container, role="worker")
    rest = await api.post(
        f"/api/workers/{wid}/claim", json={"limit": 10, "wait": 0}, headers=everyone
    )
    assert sorted(a["job_name"] for a in rest.json()["assignments"]) == ["a", "c"]
