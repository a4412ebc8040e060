"""Claims carried by reports, on SQLite and PostgreSQL with auth on: a report that frees room
claims that room in the same request; the claim keeps a scoped worker token's limits, is
refused before the report changes anything, and never costs a gone worker its answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container
from tickwork.testing import job_spec

from .tenancy import bearer


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, auth=True)


async def register(api: httpx.AsyncClient, who: dict[str, str]) -> str:
    made = await api.post(
        "/api/workers",
        json={"hostname": "h", "pid": 1, "tags": ["default"], "concurrency": 4},
        headers=who,
    )
    assert made.status_code == 201, made.text
    assert made.json()["report_claims"] is True
    return str(made.json()["id"])


def done(a: dict[str, Any]) -> dict[str, Any]:
    return {"run_id": a["run_id"], "fence": a["fence"], "status": "completed", "elapsed": 0.01}


async def test_a_report_that_completes_a_run_claims_the_next_ones_in_start_order(
    api: httpx.AsyncClient, container: Container, clock: FakeClock
) -> None:
    worker = await bearer(container, role="worker")
    job = await container.jobs.create(job_spec("steady", on_overlap="allow", concurrency=10))
    queued = []
    for _ in range(4):
        queued.append((await container.jobs.trigger(job.id))[0])
        clock.advance(1)
    wid = await register(api, worker)
    first = await api.post(f"/api/workers/{wid}/claim", json={"limit": 1}, headers=worker)
    [a] = first.json()["assignments"]
    body = {"starts": [{"run_id": a["run_id"], "fence": a["fence"]}], "completions": [done(a)]}
    out = await api.post(f"/api/workers/{wid}/report", json={**body, "claim": 2}, headers=worker)
    assert out.status_code == 200, out.text
    answer = out.json()
    assert [c["status"] for c in answer["completions"]] == ["completed"]
    got = [x["run_id"] for x in answer["assignments"]]
    assert got == queued[1:3]  # the oldest first, two as asked
    assert all(x["fence"] == 1 and x["job_name"] == "steady" for x in answer["assignments"])
    viewer = await bearer(container, role="viewer")
    for run_id in got:
        run = (await api.get(f"/api/runs/{run_id}", headers=viewer)).json()
        assert (run["status"], run["worker"]) == ("running", wid)
    nothing = await api.post(f"/api/workers/{wid}/report", json={"starts": []}, headers=worker)
    assert nothing.json()["assignments"] == []  # no claim asked: none made
    left = await api.post(f"/api/workers/{wid}/claim", json={"limit": 10}, headers=worker)
    assert [x["run_id"] for x in left.json()["assignments"]] == queued[3:]


async def test_the_claim_keeps_a_scoped_tokens_limits_and_is_refused_before_the_report(
    api: httpx.AsyncClient, container: Container
) -> None:
    for name, ns in (("a", "other"), ("b", "payments"), ("c", "payments")):
        job = await container.jobs.create(job_spec(name, namespace=ns))
        await container.jobs.trigger(job.id)
    payments = await bearer(container, scopes={"payments": "worker"}, worker_tags=["default"])
    wid = await register(api, payments)
    [a] = (await api.post(f"/api/workers/{wid}/claim", json={"limit": 1}, headers=payments)).json()[
        "assignments"
    ]
    out = await api.post(
        f"/api/workers/{wid}/report", json={"completions": [done(a)], "claim": 5}, headers=payments
    )
    other = ({"b", "c"} - {a["job_name"]}).pop()
    assert [x["job_name"] for x in out.json()["assignments"]] == [other]  # never another team's
    # a token that may work everywhere but in one namespace cannot claim: refused whole, and
    # the report it carried changed nothing
    odd = await bearer(container, scopes={"*": "worker", "secret": "viewer"})
    [c] = out.json()["assignments"]
    refused = await api.post(
        f"/api/workers/{wid}/report", json={"completions": [done(c)], "claim": 1}, headers=odd
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["details"]["namespaces"] == ["secret"]
    viewer = await bearer(container, role="viewer")
    run = (await api.get(f"/api/runs/{c['run_id']}", headers=viewer)).json()
    assert run["status"] == "running"


async def test_a_worker_gone_meanwhile_gets_its_answers_and_no_runs(
    api: httpx.AsyncClient, container: Container, clock: FakeClock
) -> None:
    worker = await bearer(container, role="worker")
    job = await container.jobs.create(job_spec("gone", on_overlap="allow", concurrency=10))
    for _ in range(2):
        await container.jobs.trigger(job.id)
    wid = await register(api, worker)
    [a] = (await api.post(f"/api/workers/{wid}/claim", json={"limit": 1}, headers=worker)).json()[
        "assignments"
    ]
    started = {"starts": [{"run_id": a["run_id"], "fence": a["fence"]}]}
    assert (await api.post(f"/api/workers/{wid}/report", json=started, headers=worker)).is_success
    assert (await api.delete(f"/api/workers/{wid}", headers=worker)).status_code == 204
    out = await api.post(
        f"/api/workers/{wid}/report", json={"completions": [done(a)], "claim": 3}, headers=worker
    )
    assert out.status_code == 200, out.text
    assert out.json()["completions"][0]["ok"] is True
    assert out.json()["assignments"] == []
