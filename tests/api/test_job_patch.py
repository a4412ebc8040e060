"""PATCH /api/jobs/{ref}: a JSON Merge Patch (RFC 7396) of a job, on SQLite and PostgreSQL —
checked like a create, refused whole when bad, kept to the token's namespaces, audited with
the fields it changed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tickwork.config import Settings
from tickwork.service.container import Container
from tickwork.testing import job_payload

MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, auth=True)


@pytest.fixture
async def admin(container: Container) -> dict[str, str]:
    _, secret = await container.tokens.create(name="patcher", role="admin")
    return {"Authorization": f"Bearer {secret}"}


async def patch(
    api: httpx.AsyncClient, ref: str, body: Any, headers: dict[str, str], **query: str
) -> httpx.Response:
    return await api.patch(
        f"/api/jobs/{ref}",
        content=body if isinstance(body, bytes) else httpx.Request("P", "/", json=body).content,
        headers={**MERGE, **headers},
        params=query,
    )


async def test_a_merge_patch_changes_only_what_it_names(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = await api.post(
        "/api/jobs",
        json=job_payload(
            "etl", parameters={"keep": 1, "drop": 2}, tags=["a"], retries=5, description="d"
        ),
        headers=admin,
    )
    job = made.json()
    r = await patch(
        api,
        job["id"],
        {
            "command": "echo 2",
            "schedule": "every 5m",
            "parameters": {"drop": None, "new": {"x": 1}},
            "retries": None,
            "tags": ["b", "c"],
        },
        admin,
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["command"] == "echo 2"
    assert got["parameters"] == {"keep": 1, "new": {"x": 1}}  # merged, not replaced
    assert got["retries"] == 3  # null: back to the default
    assert got["tags"] == ["b", "c"]  # an array replaces the whole value
    assert got["next_run"] == "2026-01-15T12:05:00Z"  # the schedule is taken into account
    assert (got["description"], got["timeout"], got["id"]) == ("d", 3600, job["id"])
    shown = (await api.get("/api/jobs/etl", headers=admin)).json()
    assert shown["command"] == "echo 2" and shown["updated_at"] == got["updated_at"]
    [entry, *_] = (await api.get("/api/audit", headers=admin)).json()
    assert (entry["action"], entry["target"], entry["namespace"]) == (
        "jobs-patch",
        job["id"],
        "default",
    )
    assert entry["details"]["changed"] == [
        "command",
        "parameters",
        "retries",
        "schedule",
        "tags",
    ]


async def test_plain_json_is_a_merge_patch_too_and_other_types_are_refused(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await api.post("/api/jobs", json=job_payload("plain"), headers=admin)
    r = await api.patch("/api/jobs/plain", json={"priority": 90}, headers=admin)
    assert r.status_code == 200 and r.json()["priority"] == 90, r.text
    for ctype in ("text/plain", "application/json-patch+json", "application/x-www-form-urlencoded"):
        refused = await api.patch(
            "/api/jobs/plain",
            content=b'{"priority": 10}',
            headers={**admin, "Content-Type": ctype},
        )
        assert refused.status_code == 415, (ctype, refused.text)
        assert refused.json()["error"]["code"] == "unsupported_media_type"
    for ctype in ("application/merge-patch+json", "application/merge-patch+json; charset=utf-8"):
        ok = await api.patch(
            "/api/jobs/plain", content=b'{"priority": 20}', headers={**admin, "Content-Type": ctype}
        )
        assert ok.status_code == 200 and ok.json()["priority"] == 20, ok.text
    # PUT and POST still take JSON only
    put = await api.put(
        "/api/jobs/plain",
        content=b'{"name": "plain", "type": "shell", "command": "true"}',
        headers={**admin, **MERGE},
    )
    assert put.status_code == 415


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"timeout": "soon"}, 422, "timeout"),
        ({"retries": -1}, 422, "retries"),
        ({"colour": "blue"}, 422, "colour"),
        ({"schedule": "0 9 * *"}, 422, "schedule"),
        ({"timezone": "Mars/Base", "schedule": "0 9 * * *"}, 422, "timezone"),
        ({"type": "python"}, 422, "function"),
        ({"command": None}, 422, "command"),
        ({"name": None}, 422, "name"),
        ({"namespace": "payments"}, 422, "namespace"),
        ({"depends_on": ["nope"]}, 422, "depends_on"),
        ({"request": {"url": "ftp://x"}, "type": "http", "command": None}, 422, "request.url"),
        (["not", "an", "object"], 422, "body"),
        ("a string", 422, "body"),
        (b'{"priority": ', 400, "body"),
        (b"", 400, "body"),
    ],
)
async def test_a_bad_patch_names_the_field_and_changes_nothing(
    api: httpx.AsyncClient, admin: dict[str, str], body: Any, status: int, field: str
) -> None:
    made = (await api.post("/api/jobs", json=job_payload("steady"), headers=admin)).json()
    r = await patch(api, "steady", body, admin)
    assert r.status_code == status, r.text
    details = r.json()["error"]["details"]
    assert field in {d["field"] for d in details}, details
    assert all(d["message"] for d in details)
    after = (await api.get("/api/jobs/steady", headers=admin)).json()
    assert (after["command"], after["updated_at"]) == ("true", made["updated_at"])
    audit = (await api.get("/api/audit", headers=admin)).json()
    assert "jobs-patch" not in {e["action"] for e in audit}


async def test_unknown_job_cycles_and_names_taken(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    missing = await patch(api, "ghost", {"priority": 1}, admin)
    assert missing.status_code == 404
    for name, deps in (("a", []), ("b", ["a"]), ("c", ["b"])):
        await api.post("/api/jobs", json=job_payload(name, depends_on=deps), headers=admin)
    cycle = await patch(api, "a", {"depends_on": ["c"]}, admin)
    assert cycle.status_code == 409
    assert cycle.json()["error"]["message"] == "dependency cycle: a → c → b → a"
    taken = await patch(api, "a", {"name": "b"}, admin)
    assert taken.status_code == 409
    renamed = await patch(api, "a", {"name": "a2"}, admin)
    assert renamed.status_code == 200 and renamed.json()["name"] == "a2"
    assert (await api.get("/api/jobs/b", headers=admin)).json()["depends_on"] == ["a2"]


async def test_a_patch_keeps_to_the_tokens_namespaces(
    api: httpx.AsyncClient, container: Container, admin: dict[str, str]
) -> None:
    theirs = await api.post("/api/jobs", json=job_payload("etl", namespace="other"), headers=admin)
    ours = await api.post("/api/jobs", json=job_payload("etl", namespace="payments"), headers=admin)
    _, secret = await container.tokens.create(name="pay", scopes={"payments": "admin"})
    _, reader = await container.tokens.create(name="ro", scopes={"payments": "operator"})
    scoped = {"Authorization": f"Bearer {secret}"}
    by_id = await patch(api, theirs.json()["id"], {"command": "false"}, scoped)
    assert by_id.status_code == 403 and "'other'" in by_id.json()["error"]["message"]
    by_name = await patch(api, "etl", {"command": "false"}, scoped, namespace="other")
    assert by_name.status_code == 403 and "'other'" in by_name.json()["error"]["message"]
    operator = {"Authorization": f"Bearer {reader}"}
    too_weak = await patch(api, "etl", {"command": "false"}, operator, namespace="payments")
    assert too_weak.status_code == 403
    mine = await patch(api, "etl", {"command": "false"}, scoped, namespace="payments")
    assert mine.status_code == 200 and mine.json()["id"] == ours.json()["id"], mine.text
    assert mine.json()["namespace"] == "payments"
    unmoved = await patch(api, "etl", {"namespace": None}, scoped, namespace="payments")
    assert unmoved.status_code == 200 and unmoved.json()["namespace"] == "payments"
    their_job = (await api.get(f"/api/jobs/{theirs.json()['id']}", headers=admin)).json()
    assert their_job["command"] == "true"
    entries = (await api.get("/api/audit", headers=admin)).json()
    patched = [e for e in entries if e["action"] == "jobs-patch"]
    assert [(e["actor"], e["namespace"], e["details"]["changed"]) for e in patched] == [
        ("pay", "payments", []),
        ("pay", "payments", ["command"]),
    ]
