"""The Python client's pipeline methods against a real coordinator, async and sync."""

from __future__ import annotations

import pytest

from tickwork.client import AsyncClient, Client, ConflictError, ValidationError
from tickwork.schemas.pipelines import PipelineIn

ETL = {
    "name": "etl",
    "tasks": [
        {"name": "extract", "type": "shell", "command": "echo e", "parameters": {"n": 1}},
        {
            "name": "load",
            "type": "shell",
            "command": "echo l",
            "depends_on": [{"job": "extract", "on": "done"}],
            "trigger_rule": "any",
        },
    ],
}


async def test_pipeline_calls(aclient: AsyncClient) -> None:
    made = await aclient.create_pipeline(PipelineIn.model_validate(ETL))
    assert [t.job_name for t in made.tasks] == ["etl.extract", "etl.load"]
    assert made.tasks[1].depends_on == [{"job": "extract", "on": "done"}]
    with pytest.raises(ConflictError):
        await aclient.create_pipeline(ETL)
    with pytest.raises(ValidationError) as bad:
        await aclient.create_pipeline({**ETL, "name": "x", "tasks": ETL["tasks"][1:]})
    assert "tasks[0].depends_on" in str(bad.value)
    run = await aclient.trigger_pipeline("etl", {"extract": {"n": 2}}, idempotency_key="k")
    assert run.created and run.status == "running"
    again = await aclient.trigger_pipeline("etl", idempotency_key="k")
    assert (again.id, again.created) == (run.id, False)
    task_run = await aclient.get_run(run.tasks[0].run_id or "")
    assert task_run.parameters == {"n": 2}
    assert task_run.pipeline_run_id == run.id
    listed = await aclient.list_pipelines()
    assert listed.items[0].last_run is not None and listed.items[0].last_run.id == run.id
    assert (await aclient.pipeline_runs("etl")).total == 1
    cancelled = await aclient.cancel_pipeline_run(run.id)
    assert cancelled.status == "cancelled"
    retried = await aclient.retry_pipeline_run(run.id)
    assert retried.status == "running"
    changed = await aclient.replace_pipeline("etl", {**ETL, "tasks": ETL["tasks"][:1]}, force=True)
    assert [t.name for t in changed.tasks] == ["extract"]
    assert (await aclient.pause_pipeline("etl")).enabled is False
    assert (await aclient.resume_pipeline("etl")).enabled is True
    await aclient.delete_pipeline("etl", force=True)
    assert (await aclient.list_pipelines()).total == 0


def test_the_sync_facade(client: Client) -> None:
    client.create_pipeline(ETL)
    run = client.trigger_pipeline("etl")
    assert client.get_pipeline_run(run.id).tasks[0].status == "queued"
    assert client.get_pipeline("etl").last_run is not None
