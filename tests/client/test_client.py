"""The Python client against a real coordinator: CRUD, errors, pagination, the sync facade."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import tickwork
from tickwork.client import (
    ApiError,
    AsyncClient,
    AuthError,
    Client,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnreachableError,
    ValidationError,
)
from tickwork.schemas.jobs import JobIn
from tickwork.schemas.oneoff import RunSubmitIn

from .served import Served, serve

ROOT = Path(__file__).resolve().parents[2]


def shell_job(name: str, **fields: object) -> dict[str, object]:
    return {"name": name, "type": "shell", "command": "echo hi", **fields}


def test_readme_example_and_job_crud(client: Client) -> None:
    created = client.create_job(
        {
            "name": "nightly",
            "type": "shell",
            "command": "make backup",
            "schedule": "0 2 * * *",
            "timezone": "Europe/Berlin",
        }
    )
    assert (created.name, created.schedule_type, created.timezone) == (
        "nightly",
        "cron",
        "Europe/Berlin",
    )
    assert created.next_run is not None
    run = client.trigger("nightly")
    assert client.get_run(run.run_id).status == "queued"

    client.create_job(JobIn(name="report", type="python", function="reports.generate_daily"))
    detail = client.get_job("report")
    assert detail.stats.total_runs == 0 and detail.dependents == []
    assert client.get_job(detail.id).name == "report"  # by id too

    replaced = client.replace_job("report", {**shell_job("report"), "retries": 7})
    assert (replaced.type, replaced.retries, replaced.id) == ("shell", 7, detail.id)
    assert client.pause_job("report").status == "paused"
    assert client.resume_job("report").status == "idle"

    client.delete_job("report")
    with pytest.raises(NotFoundError):
        client.get_job("report")


def test_list_filters_and_the_pagination_iterator(client: Client) -> None:
    for i in range(7):
        client.create_job(shell_job(f"j{i:02d}", tags=["even" if i % 2 == 0 else "odd"]))
    page = client.list_jobs(limit=3)
    assert [j.name for j in page.jobs] == ["j00", "j01", "j02"]
    assert (page.total, page.next_cursor is not None) == (7, True)
    second = client.list_jobs(limit=3, cursor=page.next_cursor)
    assert [j.name for j in second.jobs] == ["j03", "j04", "j05"]

    assert [j.name for j in client.iter_jobs(page_size=2)] == [f"j{i:02d}" for i in range(7)]
    assert [j.name for j in client.iter_jobs(tag="odd", page_size=1)] == ["j01", "j03", "j05"]
    assert client.list_jobs(q="j0").total == 7
    first_two = []
    for job in client.iter_jobs(page_size=2):  # stopping early closes the generator cleanly
        first_two.append(job.name)
        if len(first_two) == 2:
            break
    assert first_two == ["j00", "j01"]
    assert client.list_jobs().total == 7  # the client still works afterwards


def test_errors_map_to_typed_exceptions_with_field_details(client: Client) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.trigger("no-such-job")
    assert (missing.value.status, missing.value.code) == (404, "not_found")

    with pytest.raises(ValidationError) as invalid:
        client.create_job({"name": "bad", "type": "shell", "command": "x", "timeout": -1})
    assert invalid.value.status == 422
    assert [f.field for f in invalid.value.fields] == ["timeout"]

    with pytest.raises(ValidationError) as bad_cron:
        client.create_job(shell_job("bad", schedule="61 * * * *"))
    assert bad_cron.value.fields[0].field == "schedule"

    client.create_job(shell_job("up"))
    client.create_job(shell_job("down", depends_on=["up"]))
    with pytest.raises(ConflictError) as taken:
        client.create_job(shell_job("up"))
    assert taken.value.status == 409
    with pytest.raises(ConflictError) as needed:
        client.delete_job("up")
    assert needed.value.details == {"dependents": ["down"]}
    with pytest.raises(ConflictError) as cycle:
        client.replace_job("up", shell_job("up", depends_on=["down"]))
    assert cycle.value.code == "dependency_cycle"
    client.delete_job("up", force=True)
    assert client.get_job("down").depends_on == []
    assert isinstance(missing.value, ApiError)


def test_runs_cancel_retry_bulk_and_logs(client: Client) -> None:
    client.create_job(shell_job("work", on_overlap="allow"))
    first = client.trigger("work", {"n": 1}, idempotency_key="k-1")
    again = client.trigger("work", {"n": 1}, idempotency_key="k-1")
    assert (first.created, again.created, again.run_id) == (True, False, first.run_id)

    runs = client.list_runs(job="work", status="queued")
    assert [r.id for r in runs.runs] == [first.run_id]
    assert client.job_runs("work").total == 1
    assert client.run_logs(first.run_id).attempt == 0  # never started

    cancelled = client.cancel_run(first.run_id)
    assert cancelled.status == "cancelled"
    assert client.retry_run(first.run_id).status == "queued"

    bulk = client.bulk_trigger([{"job": "work", "parameters": {"i": i}} for i in range(3)])
    assert bulk.created == 3
    assert len(list(client.iter_runs(job="work", page_size=2))) == 4
    assert client.get_run(first.run_id).parameters == {"n": 1}
    history = client.list_events(run=first.run_id)
    assert [e.type for e in reversed(history)] == ["run.queued", "run.cancelled", "run.queued"]
    only = client.list_events(job="work", types=["run.cancelled", "run.skipped"], limit=5)
    assert [e.type for e in only] == ["run.cancelled"]


def test_system_views(client: Client) -> None:
    client.create_job(shell_job("a"))
    client.create_job(shell_job("b", depends_on=["a"]))
    dag = client.dag()
    assert [(e.source, e.target) for e in dag.edges] == [("a", "b")]
    preview = client.preview_schedule("0 9 * * *", timezone="Europe/Berlin", n=3)
    assert len(preview.next) == 3 and preview.schedule_type == "cron"
    with pytest.raises(ValidationError):
        client.preview_schedule("not a schedule")
    stats = client.stats()
    assert (stats.jobs, stats.queue_depth, stats.workers.online) == (2, 0, 0)
    health = client.health()
    assert health.status == "ok" and health.checks["database"] == "ok"
    assert client.list_workers() == []
    assert client.list_dead_letters().total == 0
    assert client.whoami().role == "admin"  # auth off: everyone is an open admin
    assert client.audit(limit=5)[0].action == "jobs-create"


def test_submit_a_one_off_run(client: Client) -> None:
    run = client.submit(type="shell", command="make backup", retries=2, name="backup")
    assert (run.one_off, run.job_name, run.max_attempts, run.status) == (
        True,
        "backup",
        3,
        "queued",
    )
    keyed = RunSubmitIn(type="shell", command="echo once", idempotency_key="once-1")
    first = client.submit(keyed)
    assert client.submit(keyed, command="echo again").id == first.id
    assert client.get_run(first.id).spec.command == "echo once"  # type: ignore[union-attr]
    assert client.list_jobs().total == 0
    with pytest.raises(ValidationError) as caught:
        client.submit(type="shell", command="true", schedule="@daily")
    assert [f.field for f in caught.value.fields] == ["schedule"]


async def test_async_client_is_the_same_api(aclient: AsyncClient) -> None:
    job = await aclient.create_job(shell_job("async-job"))
    assert (await aclient.get_job(job.id)).name == "async-job"
    run = await aclient.trigger("async-job")
    assert (await aclient.get_run(run.run_id)).status == "queued"
    names = [j.name async for j in aclient.iter_jobs()]
    assert names == ["async-job"]
    with pytest.raises(NotFoundError):
        await aclient.get_run("run-missing")


def test_sync_facade_mirrors_every_async_method() -> None:
    public = {
        name
        for name, fn in inspect.getmembers(AsyncClient)
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn))
    }
    missing = {name for name in public - {"aclose"} if not hasattr(Client, name)}
    assert missing == set()
    assert Client.get_job.__doc__ == AsyncClient.get_job.__doc__  # type: ignore[attr-defined]


def test_sync_client_defaults_and_close(server: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKWORK_SERVER", server.url)
    monkeypatch.delenv("TICKWORK_TOKEN", raising=False)
    c = tickwork.Client()
    assert c.url == server.url and c.aio.token is None
    assert c.health().status == "ok"
    c.close()
    c.close()  # twice is fine
    monkeypatch.setenv("TICKWORK_TOKEN", "tw_from_env")
    with tickwork.Client(server.url) as c2:
        assert c2.aio.token == "tw_from_env"


def test_unreachable_server() -> None:
    with Client("http://127.0.0.1:9", token="") as c, pytest.raises(UnreachableError) as caught:
        c.health()
    assert not caught.value.maybe_applied


def test_auth_errors_and_tokens(tmp_path: Path) -> None:
    with serve(tmp_path / "auth.db", auth=True) as s:
        _, admin = s.run(s.container.tokens.create(name="ops", role="admin", expires_in=None))
        _, viewer = s.run(s.container.tokens.create(name="eyes", role="viewer", expires_in=None))
        with Client(s.url, token="") as anonymous, pytest.raises(AuthError) as no_token:
            anonymous.list_jobs()
        assert no_token.value.status == 401 and not isinstance(no_token.value, ForbiddenError)
        with Client(s.url, token=viewer) as c:
            assert c.list_jobs().total == 0
            with pytest.raises(ForbiddenError) as refused:
                c.create_job(shell_job("x"))
            assert refused.value.status == 403
        with Client(s.url, token=admin) as c:
            made = c.create_token("ci", "operator", expires_in_days=1)
            assert made.token and made.role == "operator"
            assert {t.name for t in c.list_tokens()} == {"ops", "eyes", "ci"}
            c.revoke_token(made.id)
            assert next(t for t in c.list_tokens() if t.id == made.id).revoked_at is not None
            assert c.whoami().name == "ops"
            assert [e.action for e in c.audit(action="tokens-create")] == ["tokens-create"]
        with Client(s.url, token=made.token) as revoked, pytest.raises(AuthError):
            revoked.list_jobs()


def test_import_tickwork_stays_light() -> None:
    code = (
        "import sys, tickwork\n"
        "heavy = [m for m in ('fastapi', 'sqlalchemy', 'httpx', 'uvicorn') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert callable(tickwork.job)\n"
        "assert tickwork.Client.__name__ == 'Client' and 'fastapi' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
