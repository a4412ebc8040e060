"""Calendars over the API, on SQLite and PostgreSQL: create, list, get, replace, delete,
422 naming the field, 409 on a duplicate or a calendar in use, namespaces and scoped tokens,
jobs that name one, and the schedule preview under one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container
from tickwork.testing import job_payload

from .tenancy import bearer

DE = {
    "name": "de-business",
    "weekdays": [1, 2, 3, 4, 5],
    "holidays": {"country": "DE", "subdivision": "BY"},
    "exclude_dates": ["2026-12-24"],
    "include_dates": [],
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 21, 12, tzinfo=UTC))  # a Monday


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, auth=True)


async def test_create_get_list_replace_delete(api: httpx.AsyncClient, container: Container) -> None:
    admin = await bearer(container, role="admin")
    made = await api.post("/api/calendars", json=DE, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["holidays"] == {"country": "DE", "subdivision": "BY"}
    again = await api.post("/api/calendars", json=DE, headers=admin)
    assert again.status_code == 409
    assert "already exists" in again.json()["error"]["message"]
    got = await api.get("/api/calendars/de-business", params={"days": 7}, headers=admin)
    assert got.status_code == 200
    days = [(d["day"], d["business"], d["reason"]) for d in got.json()["days"]]
    assert days[3:] == [
        ("2026-12-24", False, "excluded date"),
        ("2026-12-25", False, "holiday: Christmas Day"),
        ("2026-12-26", False, "holiday: Second Day of Christmas"),
        ("2026-12-27", False, "weekend"),
    ]
    listed = await api.get("/api/calendars", headers=admin)
    assert [c["name"] for c in listed.json()["calendars"]] == ["de-business"]
    changed = await api.put(
        "/api/calendars/de-business", json={**DE, "weekdays": [1, 2, 3]}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["weekdays"] == [1, 2, 3]
    gone = await api.delete("/api/calendars/de-business", headers=admin)
    assert gone.status_code == 204
    assert (await api.get("/api/calendars/de-business", headers=admin)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({**DE, "holidays": {"country": "XX"}}, "holidays.country", "unknown country code"),
        (
            {**DE, "holidays": {"country": "DE", "subdivision": "ZZ"}},
            "holidays.subdivision",
            "not a subdivision of DE",
        ),
        ({**DE, "exclude_dates": ["2026-13-45"]}, "exclude_dates.0", ""),
        ({**DE, "include_dates": ["tomorrow"]}, "include_dates.0", ""),
        ({**DE, "weekdays": []}, "weekdays", "no business day"),
        ({**DE, "weekdays": [8]}, "weekdays.0", ""),
        ({**DE, "name": "bad name"}, "name", ""),
        ({**DE, "colour": "red"}, "colour", ""),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    api: httpx.AsyncClient, container: Container, body: dict[str, Any], field: str, words: str
) -> None:
    r = await api.post("/api/calendars", json=body, headers=await bearer(container, role="admin"))
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["field"] == field
    assert words in detail["message"]
    assert (await api.get("/api/calendars", headers=await bearer(container, role="admin"))).json()[
        "calendars"
    ] == []


async def test_jobs_name_a_calendar(api: httpx.AsyncClient, container: Container) -> None:
    admin = await bearer(container, role="admin")
    unknown = await api.post(
        "/api/jobs", json=job_payload("j", schedule="0 9 * * *", calendar="nope"), headers=admin
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "calendar"
    await api.post("/api/calendars", json=DE, headers=admin)
    job = await api.post(
        "/api/jobs",
        json=job_payload(
            "j",
            schedule="0 9 * * *",
            timezone="Europe/Berlin",
            calendar="de-business",
            calendar_policy="next_business_day",
        ),
        headers=admin,
    )
    assert job.status_code == 201, job.text
    assert job.json()["calendar"] == "de-business"
    assert job.json()["calendar_policy"] == "next_business_day"
    assert job.json()["next_run"] == "2026-12-22T08:00:00Z"
    in_use = await api.delete("/api/calendars/de-business", headers=admin)
    assert in_use.status_code == 409
    assert in_use.json()["error"]["details"] == {"jobs": ["j"]}
    assert "used by job(s) j" in in_use.json()["error"]["message"]
    changed = await api.put(
        "/api/calendars/de-business",
        json={**DE, "exclude_dates": ["2026-12-22", "2026-12-23", "2026-12-24"]},
        headers=admin,
    )
    assert changed.json()["recomputed"] == {job.json()["id"]: "2026-12-28T08:00:00Z"}
    detail = await api.get("/api/jobs/j", headers=admin)
    assert detail.json()["next_run"] == "2026-12-28T08:00:00Z"
    used = await api.get("/api/calendars/de-business", headers=admin)
    assert used.json()["jobs"] == ["j"]
    policy_alone = await api.post(
        "/api/jobs",
        json=job_payload("k", schedule="0 9 * * *", calendar_policy="next_business_day"),
        headers=admin,
    )
    assert policy_alone.status_code == 422
    assert policy_alone.json()["error"]["details"][0]["field"] == "calendar_policy"


async def test_preview_under_a_calendar(api: httpx.AsyncClient, container: Container) -> None:
    admin = await bearer(container, role="admin")
    await api.post("/api/calendars", json=DE, headers=admin)
    params = {
        "schedule": "0 9 * * *",
        "timezone": "Europe/Berlin",
        "n": 4,
        "calendar": "de-business",
    }
    r = await api.get("/api/schedules/preview", params=params, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next"] == [
        "2026-12-22T08:00:00Z",
        "2026-12-23T08:00:00Z",
        "2026-12-28T08:00:00Z",
        "2026-12-29T08:00:00Z",
    ]
    assert [(t["at"], t["fires"], t["reason"]) for t in body["ticks"] if not t["fires"]] == [
        ("2026-12-24T08:00:00Z", False, "excluded date"),
        ("2026-12-25T08:00:00Z", False, "holiday: Christmas Day"),
        ("2026-12-26T08:00:00Z", False, "holiday: Second Day of Christmas"),
        ("2026-12-27T08:00:00Z", False, "weekend"),
    ]
    moved = await api.get(
        "/api/schedules/preview",
        params={**params, "calendar_policy": "next_business_day"},
        headers=admin,
    )
    assert moved.json()["next"] == body["next"]
    assert moved.json()["ticks"][2]["reason"] == "excluded date; moved to 2026-12-28"
    unknown = await api.get(
        "/api/schedules/preview", params={**params, "calendar": "nope"}, headers=admin
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "calendar"
    plain = await api.get("/api/schedules/preview", params={"schedule": "@daily"}, headers=admin)
    assert plain.json()["calendar"] is None
    assert all(t["fires"] for t in plain.json()["ticks"])


async def test_calendars_are_namespaced(api: httpx.AsyncClient, container: Container) -> None:
    admin = await bearer(container, role="admin")
    payments = await bearer(container, scopes={"payments": "admin"})
    viewer = await bearer(container, scopes={"payments": "viewer"})
    assert (await api.post("/api/calendars", json=DE, headers=payments)).status_code == 403
    made = await api.post("/api/calendars?namespace=payments", json=DE, headers=payments)
    assert made.status_code == 201
    assert made.json()["namespace"] == "payments"
    assert (await api.post("/api/calendars", json=DE, headers=admin)).status_code == 201
    mine = await api.get("/api/calendars", headers=viewer)
    assert [c["namespace"] for c in mine.json()["calendars"]] == ["payments"]
    assert (await api.get("/api/calendars/de-business", headers=viewer)).status_code == 403
    ok = await api.get("/api/calendars/de-business?namespace=payments", headers=viewer)
    assert ok.status_code == 200
    denied = await api.put("/api/calendars/de-business?namespace=payments", json=DE, headers=viewer)
    assert denied.status_code == 403
    refused = await api.delete("/api/calendars/de-business?namespace=payments", headers=viewer)
    assert refused.status_code == 403
    # a job names a calendar of its own namespace only
    other = await api.post(
        "/api/jobs?namespace=team-b",
        json=job_payload("j", schedule="@daily", calendar="de-business"),
        headers=admin,
    )
    assert other.status_code == 422
    assert "namespace 'team-b'" in other.json()["error"]["details"][0]["message"]
    preview = await api.get(
        "/api/schedules/preview",
        params={"schedule": "@daily", "calendar": "de-business", "namespace": "secret"},
        headers=viewer,
    )
    assert preview.status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"country": "XX"}, "holidays.country"),
        ({"weekdays": "1,x"}, "weekdays"),
        ({"weekdays": "8"}, "weekdays"),
        ({"exclude_dates": "2026-02-30"}, "exclude_dates"),
        ({"subdivision": "BY"}, "country"),
        ({"weekdays": "1", "calendar": "de-business"}, "calendar"),
    ],
)
async def test_an_inline_calendar_in_the_preview_is_checked(
    api: httpx.AsyncClient, container: Container, params: dict[str, str], field: str
) -> None:
    admin = await bearer(container, role="admin")
    r = await api.get(
        "/api/schedules/preview", params={"schedule": "@daily", **params}, headers=admin
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field


async def test_a_preview_under_an_inline_calendar(
    api: httpx.AsyncClient, container: Container
) -> None:
    r = await api.get(
        "/api/schedules/preview",
        params={
            "schedule": "0 9 * * *",
            "timezone": "Europe/Berlin",
            "n": 3,
            "country": "DE",
            "subdivision": "BY",
            "exclude_dates": "2026-12-23, 2026-12-24",
            "calendar_policy": "next_business_day",
        },
        headers=await bearer(container, role="viewer"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["calendar"], body["calendar_policy"]) == ("inline", "next_business_day")
    assert body["next"] == [
        "2026-12-22T08:00:00Z",
        "2026-12-28T08:00:00Z",
        "2026-12-29T08:00:00Z",
    ]
    assert [t["reason"] for t in body["ticks"] if not t["fires"]][:3] == [
        "excluded date; moved to 2026-12-28",
        "excluded date; moved to 2026-12-28",
        "holiday: Christmas Day; moved to 2026-12-28",
    ]
