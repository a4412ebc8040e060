"""The Python client with trigger rules against a real coordinator: dependency conditions in
and out, the graph's edge kinds, refusals, and a run fired by an upstream's end."""

from __future__ import annotations

import pytest

from tickwork.client import AsyncClient, Client, ConflictError, ValidationError
from tickwork.schemas.jobs import DependencyIn

SHELL = {"type": "shell", "command": "true", "retries": 0}


async def test_conditions_round_trip_and_an_end_fires_its_dependent(aclient: AsyncClient) -> None:
    await aclient.create_job({"name": "etl", **SHELL})
    await aclient.create_job({"name": "report", **SHELL})
    cleanup = await aclient.create_job(
        {
            "name": "cleanup",
            **SHELL,
            "depends_on": ["report", {"job": "etl", "on": "done"}],
            "trigger_rule": "any",
        }
    )
    assert cleanup.depends_on == [DependencyIn(job="etl", on="done"), "report"]  # by name
    assert cleanup.trigger_rule == "any"
    shown = await aclient.get_job("cleanup")
    assert shown.depends_on == cleanup.depends_on
    edges = {(e.source, e.on) for e in (await aclient.dag()).edges}
    assert edges == {("etl", "done"), ("report", "success")}  # edges name the jobs

    started = await aclient.trigger("etl")
    await aclient.cancel_run(started.run_id)  # a queued run cancelled: ended, not failed
    [fired] = (await aclient.job_runs("cleanup")).runs
    assert fired.trigger == "dependency" and fired.upstream_run_ids == [started.run_id]
    assert [(u.job, u.status) for u in fired.upstream] == [("etl", "cancelled")]


async def test_bad_conditions_and_cycles_are_refused(aclient: AsyncClient) -> None:
    await aclient.create_job({"name": "a", **SHELL})
    with pytest.raises(ValidationError) as bad:
        await aclient.create_job(
            {"name": "b", **SHELL, "depends_on": [{"job": "a", "on": "sometimes"}]}
        )
    assert "depends_on" in str(bad.value)
    await aclient.create_job({"name": "b", **SHELL, "depends_on": [{"job": "a", "on": "failure"}]})
    with pytest.raises(ConflictError) as cycle:  # 409 dependency_cycle, whatever the edges
        await aclient.patch_job("a", {"depends_on": [{"job": "b", "on": "done"}]})
    assert "a → b → a" in str(cycle.value)


def test_the_sync_client_reads_the_conditions(client: Client) -> None:
    client.create_job({"name": "up", **SHELL})
    made = client.create_job(
        {"name": "down", **SHELL, "depends_on": [{"job": "up", "on": "failure"}]}
    )
    assert made.depends_on == [DependencyIn(job="up", on="failure")]
