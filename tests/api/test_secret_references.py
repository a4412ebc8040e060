"""Trigger-time parameters may not introduce a secret the job's definition does not reference:
an operator could otherwise have a worker print any variable it allows (or tries to)."""

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
async def as_role(container: Container, api: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    headers = {}
    for role in ("admin", "operator"):
        _, token = await container.tokens.create(name=f"{role}-token", role=role)
        headers[role] = {"Authorization": f"Bearer {token}"}
    job = job_payload(
        "deploy",
        on_overlap="queue",
        parameters={"password": {"$secret": "DB_PASS"}, "region": "eu"},
    )
    made = await api.post("/api/jobs", json=job, headers=headers["admin"])
    assert made.status_code == 201, made.text
    return headers


def refused(response: httpx.Response, field: str, name: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == [field]
    assert f"'{name}'" in error["details"][0]["message"]


async def runs_of(api: httpx.AsyncClient, headers: dict[str, str]) -> int:
    listed = await api.get("/api/runs", params={"job": "deploy"}, headers=headers)
    return int(listed.json()["total"])


@pytest.mark.parametrize(
    ("parameters", "field", "name"),
    [
        ({"pw": {"$secret": "TICKWORK_TOKEN"}}, "parameters.pw", "TICKWORK_TOKEN"),
        ({"deep": [{"x": {"$secret": "AWS_SECRET"}}]}, "parameters.deep.0.x", "AWS_SECRET"),
    ],
)
async def test_a_trigger_may_not_introduce_a_secret(
    api: httpx.AsyncClient,
    as_role: dict[str, dict[str, str]],
    parameters: dict[str, Any],
    field: str,
    name: str,
) -> None:
    operator = as_role["operator"]
    answer = await api.post(
        "/api/jobs/deploy/trigger", json={"parameters": parameters}, headers=operator
    )
    refused(answer, field, name)
    assert await runs_of(api, operator) == 0


async def test_a_trigger_may_reuse_the_jobs_own_secret(
    api: httpx.AsyncClient, as_role: dict[str, dict[str, str]]
) -> None:
    operator = as_role["operator"]
    body = {"parameters": {"password": {"$secret": "DB_PASS"}, "again": {"$secret": "DB_PASS"}}}
    answer = await api.post("/api/jobs/deploy/trigger", json=body, headers=operator)
    assert answer.status_code == 202, answer.text
    run = (await api.get(f"/api/runs/{answer.json()['run_id']}", headers=operator)).json()
    assert run["parameters"]["again"] == {"$secret": "DB_PASS"}


async def test_bulk_refuses_the_whole_request_and_names_the_item(
    api: httpx.AsyncClient, as_role: dict[str, dict[str, str]]
) -> None:
    operator = as_role["operator"]
    body = {
        "runs": [
            {"job": "deploy", "parameters": {"password": {"$secret": "DB_PASS"}}},
            {"job": "deploy", "parameters": {"region": "us"}},
            {"job": "deploy", "parameters": {"pw": {"$secret": "TICKWORK_TOKEN"}}},
        ]
    }
    answer = await api.post("/api/runs/bulk", json=body, headers=operator)
    refused(answer, "runs.2.parameters.pw", "TICKWORK_TOKEN")
    assert await runs_of(api, operator) == 0  # nothing half-written
    allowed = await api.post("/api/runs/bulk", json={"runs": body["runs"][:2]}, headers=operator)
    assert allowed.status_code == 202 and allowed.json()["created"] == 2
