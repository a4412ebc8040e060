"""Jobs never see tickwork's own variables (the worker's token above all): a job that runs
`env`, or a python job that reads os.environ, would otherwise show them to every viewer."""

from __future__ import annotations

import json

import pytest
from executor_helpers import MakeExecutors, Output, make_request

TOKEN = "tw_worker-token-never-shown-to-jobs"


@pytest.fixture
async def executors_with_token(make_executors: MakeExecutors, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TICKWORK_TOKEN", TOKEN)
    monkeypatch.setenv("TICKWORK_SERVER", "http://coordinator.internal:8000")
    monkeypatch.setenv("tickwork_secrets", "DB_PASS")
    monkeypatch.setenv("JOB_SETTING", "kept")
    return await make_executors()


async def test_shell_jobs_do_not_see_the_workers_own_variables(
    executors_with_token, output: Output
):
    result = await executors_with_token.execute(make_request("shell", command="env"), output)

    assert result.status == "completed"
    names = {line.split("=", 1)[0] for line in output.text().splitlines() if "=" in line}
    assert TOKEN not in output.text()
    assert not {"TICKWORK_TOKEN", "TICKWORK_SERVER", "tickwork_secrets"} & names
    assert "JOB_SETTING" in names  # everything else of the worker's environment is kept
    assert {"TICKWORK_RUN_ID", "TICKWORK_ATTEMPT", "TICKWORK_PARAMETERS"} <= names


async def test_python_jobs_do_not_see_the_workers_own_variables(
    executors_with_token, output: Output
):
    req = make_request("python", function="jobs_fixture.environment_names")

    result = await executors_with_token.execute(req, output)

    assert result.status == "completed"
    assert "JOB_SETTING" in result.result
    assert not [n for n in result.result if n.upper().startswith("TICKWORK_")]


async def test_shell_jobs_get_the_upstream_runs_that_fired_them(
    executors_with_token, output: Output
):
    upstream = ({"run_id": "run-a", "job": "a", "status": "failed", "error": 'a "quoted"\nerror'},)
    req = make_request("shell", command='printf "%s" "$TICKWORK_UPSTREAM"', upstream=upstream)
    result = await executors_with_token.execute(req, output)
    assert result.status == "completed"
    assert json.loads(output.text()) == [dict(u) for u in upstream]
    plain = Output()
    await executors_with_token.execute(
        make_request("shell", command='printf "%s" "$TICKWORK_UPSTREAM"'), plain
    )
    assert plain.text() == "[]"
