"""The jobs API: the seed demo, CRUD, dependencies, and bad input that writes nothing."""

from __future__ import annotations

import httpx
import pytest

from tickwork.testing import job_payload

SEED = {
    "name": "daily-report",
    "type": "python",
    "function": "reports.generate_daily",
    "schedule": "0 9 * * *",
    "parameters": {"recipients": ["team@example.com"]},
    "timeout": 3600,
    "retries": 2,
    "tags": ["reports"],
}


async def count_jobs(api: httpx.AsyncClient) -> int:
    return int((await api.get("/api/jobs")).json()["total"])


async def test_seed_demo(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/jobs", json=SEED)
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["id"].startswith("job-") and job["name"] == "daily-report"
    assert job["next_run"] == "2026-01-16T09:00:00Z"  # the fake clock stands at 2026-01-15 12:00Z
    assert job["retries"] == 2 and job["timeout"] == 3600 and job["schedule_type"] == "cron"
    r = await api.post(
        "/api/jobs",
        json={
            "name": "send-report",
            "type": "python",
            "function": "email.send_report",
            "depends_on": ["daily-report"],
        },
    )
    assert r.status_code == 201 and r.json()["depends_on"] == ["daily-report"]
    listed = (await api.get("/api/jobs", params={"tag": "reports"})).json()
    assert listed["total"] == 1 and [j["name"] for j in listed["jobs"]] == ["daily-report"]
    r = await api.post(f"/api/jobs/{job['id']}/trigger")
    assert r.status_code == 202
    assert r.json()["status"] == "queued" and r.json()["run_id"].startswith("run-")


async def test_get_replace_delete(api: httpx.AsyncClient) -> None:
    created = (await api.post("/api/jobs", json=job_payload("crud", command="echo 1"))).json()
    by_name = (await api.get("/api/jobs/crud")).json()
    assert by_name["id"] == created["id"]
    assert by_name["stats"] == {
        "total_runs": 0,
        "completed": 0,
        "failed": 0,
        "success_rate": None,
        "avg_duration": None,
    }
    assert by_name["recent_runs"] == [] and by_name["dependents"] == []
    r = await api.put(
        f"/api/jobs/{created['id']}",
        json=job_payload("crud", command="echo 2", schedule="every 5m"),
    )
    assert r.status_code == 200
    assert r.json()["command"] == "echo 2" and r.json()["next_run"] == "2026-01-15T12:05:00Z"
    assert (await api.delete("/api/jobs/crud")).status_code == 204
    r = await api.get("/api/jobs/crud")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_dependencies_unknown_cycle_and_delete(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/jobs", json=job_payload("orphan", depends_on=["nope"]))
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "depends_on"
    r = await api.post("/api/jobs", json=job_payload("self", depends_on=["self"]))
    assert r.status_code == 409 and "self → self" in r.json()["error"]["message"]
    await api.post("/api/jobs", json=job_payload("a"))
    await api.post("/api/jobs", json=job_payload("b", depends_on=["a"]))
    await api.post("/api/jobs", json=job_payload("c", depends_on=["b"]))
    r = await api.put("/api/jobs/a", json=job_payload("a", depends_on=["c"]))
    assert r.status_code == 409
    assert r.json()["error"]["message"] == "dependency cycle: a → c → b → a"
    assert (await api.get("/api/jobs/a")).json()["depends_on"] == []
    r = await api.delete("/api/jobs/a")
    assert r.status_code == 409 and r.json()["error"]["details"]["dependents"] == ["b"]
    assert (await api.delete("/api/jobs/a", params={"force": "true"})).status_code == 204
    assert (await api.get("/api/jobs/b")).json()["depends_on"] == []
    dag = (await api.get("/api/dag")).json()
    assert dag["edges"] == [{"source": "b", "target": "c", "on": "success"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (job_payload("p1", type="python"), "function"),
        (job_payload("p2", type="python", function="nodots"), "function"),
        (job_payload("p3", type="python", function="a.b", command="echo"), "command"),
        (job_payload("h1", type="http", request={"url": "ftp://x"}), "request.url"),
        (job_payload("bad name!"), "name"),
        (job_payload("x" * 201), "name"),
        (job_payload("t1", parameters=[1, 2]), "parameters"),
        (job_payload("t2", timeout="soon"), "timeout"),
        (job_payload("t3", retries=-1), "retries"),
        (job_payload("t4", schedule="0 9 * *"), "schedule"),
        (job_payload("t5", schedule="every 0s"), "schedule"),
        (job_payload("t6", schedule="0 9 * * *", timezone="Mars/Base"), "timezone"),
        (job_payload("t7", schedule="2020-01-01T00:00:00Z"), "schedule"),
        (job_payload("t8", colour="red"), "colour"),
        (job_payload("t9", on_overlap="sometimes"), "on_overlap"),
        (job_payload("t10", worker_tags=[]), "worker_tags"),
    ],
)
async def test_bad_job_is_422_naming_the_field_and_writes_nothing(
    api: httpx.AsyncClient,
    body: dict[str, object],
    field: str,
) -> None:
    r = await api.post("/api/jobs", json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    assert field in [d["field"] for d in err["details"]]
    assert err["message"]
    assert await count_jobs(api) == 0


async def test_unknown_field_says_so(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/jobs", json=job_payload("u", schedul="* * * * *"))
    assert r.json()["error"]["details"] == [{"field": "schedul", "message": "unknown field"}]


async def test_duplicate_name_is_409(api: httpx.AsyncClient) -> None:
    assert (await api.post("/api/jobs", json=job_payload("dup"))).status_code == 201
    r = await api.post("/api/jobs", json=job_payload("dup"))
    assert r.status_code == 409 and "already exists" in r.json()["error"]["message"]


async def test_malformed_json_is_400(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "/api/jobs", content=b'{"name": "x", "type":', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    assert await count_jobs(api) == 0


async def test_huge_body_is_413(api: httpx.AsyncClient) -> None:
    body = job_payload("huge", parameters={"blob": "x" * 100_000})
    r = await api.post("/api/jobs", json=body)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

    async def chunks():  # no Content-Length: the cap is counted as the body streams in
        yield b"{"
        for _ in range(70):
            yield b" " * 1024
        yield b"}"

    streamed = await api.post(
        "/api/jobs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert await count_jobs(api) == 0


@pytest.mark.parametrize(
    "ctype", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]
)
async def test_non_json_writes_are_415(api: httpx.AsyncClient, ctype: str) -> None:
    await api.post("/api/jobs", json=job_payload("shell-job", command="touch /tmp/pwned"))
    r = await api.post(
        "/api/jobs", content=b"name=evil&type=shell&command=id", headers={"content-type": ctype}
    )
    assert r.status_code == 415
    assert "application/json" in r.json()["error"]["message"]
    r = await api.post("/api/jobs/shell-job/trigger", content=b"", headers={"content-type": ctype})
    assert r.status_code == 415
    runs = (await api.get("/api/runs")).json()
    assert runs["total"] == 0 and await count_jobs(api) == 1


async def test_pause_resume(api: httpx.AsyncClient) -> None:
    await api.post("/api/jobs", json=job_payload("pz", schedule="every 1m"))
    paused = (await api.post("/api/jobs/pz/pause")).json()
    assert paused["enabled"] is False and paused["status"] == "paused"
    assert paused["next_run"] is None
    resumed = (await api.post("/api/jobs/pz/resume")).json()
    assert resumed["enabled"] is True and resumed["next_run"] == "2026-01-15T12:01:00Z"
    listed = (await api.get("/api/jobs", params={"status": "idle"})).json()
    assert listed["total"] == 1


async def test_list_pagination_and_filters(api: httpx.AsyncClient) -> None:
    for i in range(5):
        await api.post(
            "/api/jobs", json=job_payload(f"pg-{i}", schedule="every 1h" if i % 2 else None)
        )
    first = (await api.get("/api/jobs", params={"limit": 2})).json()
    assert first["total"] == 5 and len(first["jobs"]) == 2 and first["next_cursor"]
    second = (
        await api.get("/api/jobs", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [j["name"] for j in second["jobs"]] == ["pg-2", "pg-3"]
    interval = (await api.get("/api/jobs", params={"schedule_type": "interval"})).json()
    assert interval["total"] == 2
    bad = await api.get("/api/jobs", params={"limit": 100000})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "limit"
    bad = await api.get("/api/jobs", params={"cursor": "garbage!"})
    assert bad.status_code == 422


async def test_schedule_preview(api: httpx.AsyncClient) -> None:
    r = await api.get(
        "/api/schedules/preview",
        params={"schedule": "30 2 * * *", "timezone": "America/New_York", "n": 2},
    )
    assert r.status_code == 200
    assert r.json()["next"] == ["2026-01-16T07:30:00Z", "2026-01-17T07:30:00Z"]
    bad = await api.get("/api/schedules/preview", params={"schedule": "99 * * * *"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "schedule"
