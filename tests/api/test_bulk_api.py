"""Bulk actions and dead-letter groups over HTTP, with auth on: roles, audit, bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tickwork.config import Settings
from tickwork.service.container import Container
from tickwork.testing import job_payload


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings(database_url=sqlite_url, auth=True)


@pytest.fixture
async def as_role(container: Container) -> dict[str, dict[str, str]]:
    out = {}
    for role in ("viewer", "operator", "admin"):
        _, secret = await container.tokens.create(name=f"{role}-token", role=role)
        out[role] = {"Authorization": f"Bearer {secret}"}
    return out


async def queue(api: httpx.AsyncClient, admin: dict[str, str], job: str, n: int) -> list[str]:
    body = {"runs": [{"job": job} for _ in range(n)]}
    made = await api.post("/api/runs/bulk", json=body, headers=admin)
    assert made.status_code == 202, made.text
    return [r["run_id"] for r in made.json()["runs"]]


async def fail_all(
    api: httpx.AsyncClient, admin: dict[str, str], job: str, n: int, stderr: str
) -> list[str]:
    """Queue ``n`` runs and fail each through the worker protocol, printing ``stderr``."""
    ids = await queue(api, admin, job, n)
    worker = await api.post("/api/workers", json={"hostname": "h", "pid": 1}, headers=admin)
    wid = worker.json()["id"]
    claim = await api.post(f"/api/workers/{wid}/claim", json={"limit": n}, headers=admin)
    for a in claim.json()["assignments"]:
        rid, fence = a["run_id"], a["fence"]
        await api.post(
            f"/api/runs/{rid}/start", json={"worker_id": wid, "fence": fence}, headers=admin
        )
        log = {"fence": fence, "stream": "stderr", "data": stderr}
        await api.post(f"/api/runs/{rid}/logs", json=log, headers=admin)
        done = {"fence": fence, "status": "failed", "exit_code": 3, "error": "exit code 3"}
        assert (await api.post(f"/api/runs/{rid}/complete", json=done, headers=admin)).is_success
    return ids


async def audit(api: httpx.AsyncClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    return list((await api.get("/api/audit", headers=admin)).json())


async def test_bulk_cancel_needs_an_operator_and_is_one_audit_entry(
    api: httpx.AsyncClient, as_role: dict[str, dict[str, str]]
) -> None:
    admin, op = as_role["admin"], as_role["operator"]
    await api.post("/api/jobs", json=job_payload("many", on_overlap="queue"), headers=admin)
    ids = await queue(api, admin, "many", 3)
    body = {"ids": ids[:2]}
    refused = await api.post("/api/runs/bulk-cancel", json=body, headers=as_role["viewer"])
    assert refused.status_code == 403
    done = await api.post("/api/runs/bulk-cancel", json=body, headers=op)
    assert done.status_code == 200 and done.json() == {"count": 2}
    runs = {r["id"]: r for r in (await api.get("/api/runs", headers=op)).json()["runs"]}
    assert [runs[i]["cancelled_by"] for i in ids] == ["operator-token", "operator-token", None]
    assert [runs[i]["status"] for i in ids] == ["cancelled", "cancelled", "queued"]
    [entry] = [e for e in await audit(api, admin) if e["action"] == "runs-bulk-cancel"]
    assert entry["actor"] == "operator-token"
    assert entry["details"]["count"] == 2 and entry["details"]["ids"] == ids[:2]
    single = await api.post(f"/api/runs/{ids[2]}/cancel", headers=admin)
    assert single.json()["cancelled_by"] == "admin-token"


async def test_bulk_cancel_and_retry_by_filter(
    api: httpx.AsyncClient, as_role: dict[str, dict[str, str]]
) -> None:
    admin, op = as_role["admin"], as_role["operator"]
    await api.post(
        "/api/jobs",
        json=job_payload("f1", on_overlap="queue", retries=0, concurrency=5),
        headers=admin,
    )
    await api.post("/api/jobs", json=job_payload("f2", on_overlap="queue"), headers=admin)
    failed = await fail_all(api, admin, "f1", 2, "ERROR: partner API returned 503\n")
    await queue(api, admin, "f2", 4)
    flt = {"filter": {"job": "f2", "status": ["queued"]}}
    assert (await api.post("/api/runs/bulk-cancel", json=flt, headers=op)).json() == {"count": 4}
    retry = {"filter": {"job": "f1"}}
    assert (await api.post("/api/runs/bulk-retry", json=retry, headers=op)).json() == {"count": 2}
    for run_id in failed:
        run = (await api.get(f"/api/runs/{run_id}", headers=op)).json()
        assert run["status"] == "queued" and run["error_summary"] is None
        assert run["attempts"][0]["error_summary"] == "ERROR: partner API returned 503"
    [entry] = [e for e in await audit(api, admin) if e["action"] == "runs-bulk-retry"]
    assert entry["details"]["filter"] == {"job": "f1"} and entry["details"]["count"] == 2


async def test_dead_letters_grouped_replayed_and_resolved_in_bulk(
    api: httpx.AsyncClient, as_role: dict[str, dict[str, str]]
) -> None:
    admin, op, viewer = as_role["admin"], as_role["operator"], as_role["viewer"]
    payload = job_payload("flaky", on_overlap="queue", retries=0, concurrency=10)
    await api.post("/api/jobs", json=payload, headers=admin)
    await fail_all(api, admin, "flaky", 3, "ERROR: partner API returned 503\n")
    listed = (await api.get("/api/dead-letters", headers=viewer)).json()["dead_letters"]
    assert {d["error_summary"] for d in listed} == {"ERROR: partner API returned 503"}
    groups = (await api.get("/api/dead-letters/groups", headers=viewer)).json()
    [group] = groups["items"]
    assert set(group) == {"job_id", "job_name", "error_summary", "count", "latest_at"}
    assert (group["job_name"], group["count"]) == ("flaky", 3)
    replay = {"action": "replay", "ids": [listed[0]["id"]], "note": "retrying one"}
    assert (
        await api.post("/api/dead-letters/bulk", json=replay, headers=viewer)
    ).status_code == 403
    assert (await api.post("/api/dead-letters/bulk", json=replay, headers=op)).json() == {
        "count": 1
    }
    resolve = {
        "action": "resolve",
        "note": "partner outage",
        "filter": {"job": "flaky", "error": group["error_summary"]},
    }
    assert (await api.post("/api/dead-letters/bulk", json=resolve, headers=op)).json() == {
        "count": 2
    }
    assert (await api.get("/api/dead-letters/groups", headers=viewer)).json() == {"items": []}
    handled = (await api.get("/api/dead-letters", params={"resolved": "true"}, headers=op)).json()
    assert sorted(d["note"] for d in handled["dead_letters"]) == [
        "partner outage",
        "partner outage",
        "retrying one",
    ]
    entries = [e for e in await audit(api, admin) if e["action"] == "dead-letters-bulk"]
    assert [(e["details"]["action"], e["details"]["count"]) for e in entries] == [
        ("resolve", 2),
        ("replay", 1),
    ]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/runs/bulk-cancel", {}, "ids"),
        ("/api/runs/bulk-cancel", {"ids": ["a"], "filter": {"job": "x"}}, "ids"),
        ("/api/runs/bulk-cancel", {"ids": []}, "ids"),
        ("/api/runs/bulk-cancel", {"ids": [f"r{i}" for i in range(1001)]}, "ids"),
        ("/api/runs/bulk-cancel", {"filter": {}}, "filter"),
        ("/api/runs/bulk-cancel", {"filter": {"status": ["failed"]}}, "filter.status"),
        ("/api/runs/bulk-cancel", {"filter": {"status": ["nope"]}}, "filter.status.0"),
        ("/api/runs/bulk-cancel", {"filter": {"job": "no-such-job"}}, "filter.job"),
        ("/api/runs/bulk-retry", {"filter": {"status": ["queued"]}}, "filter.status"),
        ("/api/runs/bulk-retry", {"ids": ["a"], "other": 1}, "other"),
        ("/api/dead-letters/bulk", {"action": "delete", "ids": ["a"]}, "action"),
        ("/api/dead-letters/bulk", {"action": "resolve"}, "ids"),
        ("/api/dead-letters/bulk", {"action": "resolve", "ids": ["a"], "note": "n" * 1001}, "note"),
        ("/api/dead-letters/bulk", {"action": "replay", "filter": {"job": "nope"}}, "filter.job"),
    ],
)
async def test_bad_bulk_input_is_422_naming_the_field(
    api: httpx.AsyncClient,
    as_role: dict[str, dict[str, str]],
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    answer = await api.post(path, json=body, headers=as_role["operator"])
    assert answer.status_code == 422, answer.text
    assert field in [d["field"] for d in answer.json()["error"]["details"]]


async def test_an_empty_dead_letter_filter_means_every_open_one(
    api: httpx.AsyncClient, as_role: dict[str, dict[str, str]]
) -> None:
    """The list's "all matching" with no filter on: every open dead letter, none resolved
    twice."""
    admin, op = as_role["admin"], as_role["operator"]
    for name in ("one", "two"):
        await api.post(
            "/api/jobs", json=job_payload(name, retries=0, concurrency=10), headers=admin
        )
        await fail_all(api, admin, name, 2, f"ERROR: {name} broke\n")
    everything = {"action": "resolve", "filter": {}}
    answer = await api.post("/api/dead-letters/bulk", json=everything, headers=op)
    assert answer.json() == {"count": 4}
    again = await api.post("/api/dead-letters/bulk", json=everything, headers=op)
    assert again.json() == {"count": 0}
