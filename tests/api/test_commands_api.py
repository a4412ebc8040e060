"""Shell commands as strings or argv lists, with cwd and env, and HTTP jobs' request timeout
and expected statuses, over the API on both backends: stored and shown as given, and bad
input refused with the field and the reason."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tickwork.config import Settings
from tickwork.service.container import Container
from tickwork.testing import job_payload

from .tenancy import bearer


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, auth=True)


@pytest.fixture
async def admin(container: Container) -> dict[str, str]:
    return await bearer(container, role="admin")


async def test_argv_cwd_env_and_http_settings_round_trip(
    api: httpx.AsyncClient, container: Container, admin: dict[str, str]
) -> None:
    shell = {
        "name": "argv",
        "type": "shell",
        "command": ["rsync", "-a", "src dir/", "/backup"],
        "cwd": "/srv",
        "env": {"MODE": "fast", "PASSWORD": {"$secret": "BACKUP_PW"}},
    }
    viewer = await bearer(container, role="viewer")
    refused = await api.post("/api/jobs", json=shell, headers=viewer)
    assert refused.status_code == 403
    made = await api.post("/api/jobs", json=shell, headers=admin)
    assert made.status_code == 201, made.text
    got = (await api.get("/api/jobs/argv", headers=viewer)).json()
    assert (got["command"], got["cwd"], got["env"]) == (shell["command"], "/srv", shell["env"])
    http = job_payload("call", type="http", function=None)
    http["request"] = {
        "url": "https://example.com/hook",
        "method": "POST",
        "timeout": 5,
        "expect_status": [200, 202],
    }
    made = await api.post("/api/jobs", json=http, headers=admin)
    assert made.status_code == 201, made.text
    request = (await api.get("/api/jobs/call", headers=viewer)).json()["request"]
    assert (request["timeout"], request["expect_status"]) == (5, [200, 202])
    body = job_payload("plain", type="shell", function=None, command="true")
    plain = (await api.post("/api/jobs", json=body, headers=admin)).json()
    assert (plain["command"], plain["cwd"], plain["env"]) == ("true", None, {})
    assert plain["delivery"] == "at_least_once"
    once = {**job_payload("once"), "delivery": "at_most_once"}
    assert (await api.post("/api/jobs", json=once, headers=admin)).status_code == 201
    assert (await api.get("/api/jobs/once", headers=viewer)).json()["delivery"] == "at_most_once"
    bad = {**job_payload("twice"), "delivery": "exactly_once"}
    refused = await api.post("/api/jobs", json=bad, headers=admin)
    assert refused.status_code == 422 and "delivery" in refused.text


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        ({"command": []}, "command", "1 to 1000 items"),
        ({"command": [1, 2]}, "command", "a list of strings"),
        ({"command": [""]}, "command", "program"),
        ({"cwd": "relative/dir"}, "cwd", "absolute"),
        ({"env": {"TICKWORK_TOKEN": "x"}}, "env.TICKWORK_TOKEN", "tickwork's own"),
        ({"env": {"1BAD": "x"}}, "env.1BAD", "variable name"),
        ({"env": {"K": {"$secret": "no spaces"}}}, "env", "secret name"),
        ({"type": "python", "function": "m.f", "command": None, "cwd": "/tmp"}, "cwd", "shell"),
    ],
)
async def test_bad_shell_settings_are_refused_with_the_field(
    api: httpx.AsyncClient, admin: dict[str, str], change: dict[str, Any], field: str, why: str
) -> None:
    body = {"name": "bad", "type": "shell", "command": "true", **change}
    refused = await api.post("/api/jobs", json=body, headers=admin)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert any(d["field"].startswith(field) for d in error["details"]), error
    assert why in error["message"] and "function-after" not in error["message"]
    assert (await api.get("/api/jobs/bad", headers=admin)).status_code == 404  # nothing written


async def test_bad_http_settings_are_refused(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for request, field in (
        ({"url": "https://x.example", "expect_status": [700]}, "expect_status"),
        ({"url": "https://x.example", "timeout": 0}, "timeout"),
    ):
        body = {"name": "h", "type": "http", "request": request}
        refused = await api.post("/api/jobs", json=body, headers=admin)
        assert refused.status_code == 422 and field in refused.text, refused.text
