"""Alert channels, rules and alerts over the API on SQLite and PostgreSQL: validation that
names the field, secrets that never come back, a channel's test message, namespaces and
scoped tokens, and the alert list with its deliveries and run links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.domain.runs import Completion
from tickwork.service.container import Container
from tickwork.testing import job_spec

from ..receivers import HttpReceiver
from .tenancy import bearer

PUBLIC = "https://tickwork.example.com"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, auth=True, public_url=PUBLIC)


@pytest.fixture
async def container(settings: Settings, clock: FakeClock) -> AsyncIterator[Container]:
    c = Container(settings, clock=clock)
    await c.start(background=False)
    c.alert_pass.is_leader = lambda: True
    yield c
    await c.stop()


async def test_channels_keep_their_secrets(
    api: httpx.AsyncClient, container: Container, webhook_receiver: HttpReceiver
) -> None:
    admin = await bearer(container, role="admin")
    url = f"{webhook_receiver.url}/hooks/T000/B000/XXXXSECRETPATH"
    made = await api.post(
        "/api/alert-channels",
        json={"name": "ops", "type": "webhook", "url": url, "secret": "hmac-key"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    assert made.json() == {
        "name": "ops",
        "namespace": "default",
        "type": "webhook",
        "url": "http://127.0.0.1/…",
        "has_secret": True,
        "secret_ref": None,
        "to": [],
    }
    ref = {"name": "chat", "type": "slack", "url": {"$secret": "SLACK_HOOK"}}
    assert (await api.post("/api/alert-channels", json=ref, headers=admin)).status_code == 201
    listed = await api.get("/api/alert-channels", headers=admin)
    assert "XXXXSECRETPATH" not in listed.text and "hmac-key" not in listed.text
    assert {c["name"]: c["url"] for c in listed.json()["channels"]} == {
        "chat": {"$secret": "SLACK_HOOK"},
        "ops": "http://127.0.0.1/…",
    }
    # a replace that leaves the url and secret out keeps them
    put = await api.put(
        "/api/alert-channels/ops", json={"name": "ops", "type": "webhook"}, headers=admin
    )
    assert put.status_code == 200 and put.json()["has_secret"], put.text
    tested = await api.post("/api/alert-channels/ops/test", headers=admin)
    assert tested.json()["ok"] is True, tested.text
    [got] = webhook_receiver.received
    assert got.path == "/hooks/T000/B000/XXXXSECRETPATH"
    assert got.headers["X-Tickwork-Signature"].startswith("sha256=")
    # a failing test says why, without the url
    webhook_receiver.status = 500
    failed = (await api.post("/api/alert-channels/ops/test", headers=admin)).json()
    assert failed["ok"] is False and failed["error"] == "HTTP 500 from http://127.0.0.1/…"
    missing = (await api.post("/api/alert-channels/chat/test", headers=admin)).json()
    assert (
        missing["error"] == "url: secret 'SLACK_HOOK' is not set in the coordinator's environment"
    )
    audit = await api.get("/api/audit", headers=admin)
    assert "XXXXSECRETPATH" not in audit.text and "hmac-key" not in audit.text


async def test_bad_channels_and_rules_name_the_field(
    api: httpx.AsyncClient, container: Container
) -> None:
    admin = await bearer(container, role="admin")
    cases = [
        ({"name": "x", "type": "webhook"}, "url"),
        ({"name": "x", "type": "webhook", "url": "ftp://h/p"}, "url"),
        ({"name": "x", "type": "email", "to": ["not-an-address"]}, "to.0"),
        ({"name": "x", "type": "email"}, "to"),
        ({"name": "x", "type": "slack", "url": "https://h/p", "secret": "s"}, "secret"),
        ({"name": "bad name", "type": "slack", "url": "https://h/p"}, "name"),
        ({"name": "x", "type": "pager"}, "type"),
    ]
    for body, field in cases:
        r = await api.post("/api/alert-channels", json=body, headers=admin)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["details"][0]["field"] == field, (body, r.text)
    ok = {"name": "ops", "type": "slack", "url": "https://hooks.slack.com/services/x"}
    assert (await api.post("/api/alert-channels", json=ok, headers=admin)).status_code == 201
    rules = [
        ({"name": "r", "events": ["run.exploded"], "channels": ["ops"]}, "events.0"),
        ({"name": "r", "events": ["run.failed"], "channels": ["ops", "nope"]}, "channels.1"),
        ({"name": "r", "events": ["run.failed"], "channels": []}, "channels"),
        ({"name": "r", "events": ["run.failed"], "jobs": ["tag:"], "channels": ["ops"]}, "jobs.0"),
    ]
    for body, field in rules:
        r = await api.post("/api/alert-rules", json=body, headers=admin)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["details"][0]["field"] == field, (body, r.text)
    assert await container.alerts.rules(_every()) == []
    good = {"name": "r", "events": ["run.failed"], "jobs": ["tag:pay"], "channels": ["ops"]}
    assert (await api.post("/api/alert-rules", json=good, headers=admin)).status_code == 201
    assert (await api.post("/api/alert-rules", json=good, headers=admin)).status_code == 409
    busy = await api.delete("/api/alert-channels/ops", headers=admin)
    assert busy.status_code == 409 and "r" in busy.json()["error"]["message"]
    assert (await api.delete("/api/alert-rules/r", headers=admin)).status_code == 204
    assert (await api.delete("/api/alert-channels/ops", headers=admin)).status_code == 204
    assert (await api.get("/api/alert-channels/ops", headers=admin)).status_code == 404


def _every() -> Any:
    from tickwork.domain.namespaces import EVERY_NAMESPACE

    return EVERY_NAMESPACE


async def test_a_namespace_token_sees_and_changes_only_its_alerts(
    api: httpx.AsyncClient, container: Container, webhook_receiver: HttpReceiver
) -> None:
    admin = await bearer(container, role="admin")
    for ns in ("payments", "other"):
        chan = {"name": "ops", "type": "webhook", "url": f"{webhook_receiver.url}/{ns}"}
        r = await api.post(f"/api/alert-channels?namespace={ns}", json=chan, headers=admin)
        assert r.status_code == 201, r.text
        rule = {"name": "fail", "events": ["run.failed"], "channels": ["ops"], "namespace": ns}
        assert (await api.post("/api/alert-rules", json=rule, headers=admin)).status_code == 201
        job = await container.jobs.create(job_spec("j", namespace=ns, retries=0))
        run_id, _, _ = await container.jobs.trigger(job.id)
        worker = await container.workers.register(
            hostname="h", pid=1, tags=["default"], concurrency=1, version="t"
        )
        [got] = await container.workers.claim(worker.id, limit=1, wait=0)
        await container.workers.complete_one(Completion(run_id, got.fence, "failed", error="x"))
    while await container.alert_pass.run_once():
        pass
    assert sorted(r.path for r in webhook_receiver.received) == ["/other", "/payments"]
    mine = await bearer(container, scopes={"payments": "operator"})
    listed = (await api.get("/api/alerts", headers=mine)).json()["alerts"]
    assert [(a["namespace"], a["status"], a["event"]) for a in listed] == [
        ("payments", "sent", "run.failed")
    ]
    [alert] = listed
    assert alert["link"] == f"{PUBLIC}/runs/{alert['run_id']}"
    assert [d["ok"] for d in alert["deliveries"]] == [True]
    for url in ("/api/alert-channels", "/api/alert-rules"):
        got = (await api.get(url, headers=mine)).json()
        assert {x["namespace"] for x in next(iter(got.values()))} == {"payments"}
    forbidden = [
        ("GET", "/api/alert-channels/ops?namespace=other"),
        ("GET", "/api/alert-rules/fail?namespace=other"),
        ("POST", "/api/alert-channels/ops/test?namespace=other"),
        ("DELETE", "/api/alert-rules/fail?namespace=other"),
        ("GET", "/api/alerts?namespace=other"),
    ]
    for method, url in forbidden:
        r = await api.request(method, url, headers=mine)
        assert r.status_code == 403, (method, url, r.text)
    # an operator may test its channels, not change them
    assert (await api.post("/api/alert-channels/ops/test?namespace=payments", headers=mine)).json()[
        "ok"
    ]
    r = await api.delete("/api/alert-rules/fail?namespace=payments", headers=mine)
    assert r.status_code == 403
    # keyset pages
    page = (await api.get("/api/alerts?limit=1", headers=admin)).json()
    assert len(page["alerts"]) == 1 and page["next_before"] == page["alerts"][0]["id"]
    rest = (
        await api.get(f"/api/alerts?limit=1&before={page['next_before']}", headers=admin)
    ).json()
    assert len(rest["alerts"]) == 1 and rest["next_before"] is None
    assert rest["alerts"][0]["id"] < page["alerts"][0]["id"]
    failed = (await api.get("/api/alerts?status=failed", headers=admin)).json()
    assert failed["alerts"] == []


async def test_a_job_carries_its_sla_and_expect_every(
    api: httpx.AsyncClient, container: Container
) -> None:
    admin = await bearer(container, role="admin")
    body = {
        "name": "payroll",
        "type": "shell",
        "command": "true",
        "sla": {"finish_within": 600, "max_duration": 300},
        "expect_every": "26h",
    }
    made = await api.post("/api/jobs", json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["sla"] == {"finish_within": 600, "max_duration": 300}
    assert made.json()["expect_every"] == "26h"
    bad = await api.post(
        "/api/jobs", json={**body, "name": "b", "expect_every": "soon"}, headers=admin
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "expect_every"
    neg = await api.post(
        "/api/jobs", json={**body, "name": "c", "sla": {"max_duration": 0}}, headers=admin
    )
    assert neg.status_code == 422 and "max_duration" in neg.text
