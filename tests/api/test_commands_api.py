"""Shell commands as strings or argv lists, with cwd and env, and HTTP jobs' request timeout
and expected statuses, over the API on both backends: stored and shown as given, and bad
input refused with the field and the reason."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tickwork.config import Settings
from tickwork.testing import job_payload


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url)


async def test_argv_cwd_env_and_http_settings_round_trip(api: httpx.AsyncClient) -> None:
    shell = {
        "name": "argv",
        "type": "shell",
        "command": ["rsync", "-a", "src dir/", "/backup"],
        "cwd": "/srv",
        "env": {"MODE": "fast", "PASSWORD": {"$secret": "BACKUP_PW"}},
    }
    made = await api.post("/api/jobs", json=shell)
    assert made.status_code == 201, made.text
    got = (await api.get("/api/jobs/argv")).json()
    assert (got["command"], got["cwd"], got["env"]) == (shell["command"], "/srv", shell["env"])
    http = job_payload("call", type="http", function=None)
    http["request"] = {
        "url": "https://example.com/hook",
        "method": "POST",
        "timeout": 5,
        "expect_status": [200, 202],
    }
    made = await api.post("/api/jobs", json=http)
    assert made.status_code == 201, made.text
    request = (await api.get("/api/jobs/call")).json()["request"]
    assert (request["timeout"], request["expect_status"]) == (5, [200, 202])
    plain = (
        await api.post(
            "/api/jobs", json=job_payload("plain", type="shell", function=None, command="true")
        )
    ).json()
    assert (plain["command"], plain["cwd"], plain["env"]) == ("true", None, {})


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
    api: httpx.AsyncClient, change: dict[str, Any], field: str, why: str
) -> None:
    body = {"name": "bad", "type": "shell", "command": "true", **change}
    refused = await api.post("/api/jobs", json=body)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert any(d["field"].startswith(field) for d in error["details"]), error
    assert why in error["message"] and "function-after" not in error["message"]
    assert (await api.get("/api/jobs/bad")).status_code == 404  # nothing half-written


async def test_bad_http_settings_are_refused(api: httpx.AsyncClient) -> None:
    for request, field in (
        ({"url": "https://x.example", "expect_status": [700]}, "expect_status"),
        ({"url": "https://x.example", "timeout": 0}, "timeout"),
    ):
        body = {"name": "h", "type": "http", "request": request}
        refused = await api.post("/api/jobs", json=body)
        assert refused.status_code == 422 and field in refused.text, refused.text
