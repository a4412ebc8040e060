"""The CLI and the event stream against a coordinator with authentication on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.served import Served, serve
from tests.integration.harness import wait_until
from tickwork.client import AsyncClient, AuthError
from tickwork.client.follow import _Connection, _next_event, websocket_url

from .conftest import as_json, invoker


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[Served, dict[str, str]]]:
    with serve(tmp_path / "auth.db", auth=True) as s:
        tokens = {
            role: s.run(s.container.tokens.create(name=role, role=role, expires_in=None))[1]
            for role in ("viewer", "admin")
        }
        yield s, tokens


def test_missing_token_says_what_to_set(secured: tuple[Served, dict[str, str]]) -> None:
    server, _ = secured
    result = invoker(server.url)("jobs", "list")
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("error: 401 unauthorized: authentication required")
    assert "TICKWORK_TOKEN" in line and "--token" in line and len(line.splitlines()) == 1
    wrong = invoker(server.url)("status", "--token", "tw_not_a_real_token")
    assert wrong.exit_code == 1 and "401" in wrong.stderr and "TICKWORK_TOKEN" in wrong.stderr


def test_a_token_from_the_option_or_the_environment_works(
    secured: tuple[Served, dict[str, str]],
) -> None:
    server, tokens = secured
    tw = invoker(server.url)
    body = "name: guarded\ntype: shell\ncommand: echo ok\n"
    created = tw("jobs", "create", "-f", "-", "--token", tokens["admin"], input=body)
    assert created.exit_code == 0, created.output
    listed = as_json(tw("jobs", "list", "--json", TICKWORK_TOKEN=tokens["viewer"]))
    assert [j["name"] for j in listed["jobs"]] == ["guarded"]
    refused = tw("jobs", "trigger", "guarded", TICKWORK_TOKEN=tokens["viewer"])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: 403 forbidden: a viewer token may not call")
    assert "TICKWORK_TOKEN" in refused.stderr


async def test_following_a_run_sends_the_token(secured: tuple[Served, dict[str, str]]) -> None:
    server, tokens = secured
    async with AsyncClient(server.url, token=tokens["admin"]) as admin:
        await admin.create_job({"name": "parked", "type": "shell", "command": "true"})
        run_id = (await admin.trigger("parked")).run_id
        seen = []
        async for event in admin.follow_run(run_id):
            seen.append(event.type)
            if event.type == "run.queued":
                await admin.cancel_run(run_id)  # no worker: the cancel finishes the run
        assert seen == ["run.queued", "run.cancelled"]
    async with AsyncClient(server.url, token="") as anonymous:
        with pytest.raises(AuthError):
            async for _ in anonymous.follow_run(run_id):
                pass
    with pytest.raises(AuthError) as refused:  # the WebSocket itself refuses a missing token
        async with _Connection(websocket_url(server.url, run=run_id), {}) as ws:
            await _next_event(ws)
    assert "authentication required" in refused.value.message


def test_tokens_made_on_the_database_work_over_the_api(
    secured: tuple[Served, dict[str, str]],
) -> None:
    server, _ = secured
    tw = invoker(server.url)
    db = ["--database-url", server.settings.database_url]
    made = as_json(tw("tokens", "create", "--role", "operator", "--name", "ci", *db, "--json"))
    assert made["role"] == "operator" and made["token"].startswith("tw_")
    assert made["rate_limit"] is None
    paced = tw("tokens", "create", "--role", "viewer", "--rate-limit", "5", *db, "--json")
    assert as_json(paced)["rate_limit"] == 5
    assert tw("tokens", "create", "--role", "viewer", "--rate-limit", "0", *db).exit_code == 2
    listed = as_json(tw("tokens", "list", *db, "--json"))
    assert {t["name"] for t in listed} == {"viewer", "admin", "ci", "viewer token"}
    assert tw("status", "--token", made["token"]).exit_code == 0
    revoked_at = time.monotonic()
    assert as_json(tw("tokens", "revoke", made["id"], *db, "--json")) == {"revoked": made["id"]}
    # the server shares no bus with this command: it stops trusting its cached lookup
    # within token_cache_seconds
    wait_until(
        lambda: "401" in tw("status", "--token", made["token"]).stderr,
        timeout=server.settings.token_cache_seconds + 5,
        every=0.1,
        what="the revoked token to be refused",
    )
    assert time.monotonic() - revoked_at < server.settings.token_cache_seconds + 2


def test_a_scoped_token_from_the_command_line(secured: tuple[Served, dict[str, str]]) -> None:
    server, tokens = secured
    tw = invoker(server.url)
    db = ["--database-url", server.settings.database_url]
    scoped = ["--scope", "payments=operator", "--scope", "*=viewer", "--name", "pay"]
    made = as_json(tw("tokens", "create", *scoped, *db, "--json"))
    assert made["scopes"] == {"payments": "operator", "*": "viewer"}
    assert made["role"] == "viewer"
    listed = {t["name"]: t["scopes"] for t in as_json(tw("tokens", "list", *db, "--json"))}
    assert listed["pay"] == {"payments": "operator", "*": "viewer"} and listed["admin"] is None
    admin = tokens["admin"]
    for ns in ("default", "payments"):
        job = ["--namespace", ns, "jobs", "create", "-f", "-", "--token", admin]
        created = tw(*job, input="name: nightly\ntype: shell\ncommand: 'true'\n")
        assert created.exit_code == 0, created.output
    mine = tw("--namespace", "payments", "jobs", "trigger", "nightly", "--token", made["token"])
    assert mine.exit_code == 0, mine.output
    theirs = tw("jobs", "trigger", "nightly", "--token", made["token"])
    assert theirs.exit_code == 1 and "403" in theirs.stderr and "'default'" in theirs.stderr
    bad = tw("tokens", "create", "--scope", "payments", *db)
    assert bad.exit_code == 2 and "NAMESPACE=ROLE" in bad.stderr
    wrong = tw("tokens", "create", "--scope", "Payments=viewer", *db)
    assert wrong.exit_code == 2 and "lowercase" in wrong.stderr
