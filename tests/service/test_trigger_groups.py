"""Concurrent triggers share one transaction (group commit), each with its own answer: an
unknown job or a refused parameter fails only its own trigger, a repeated idempotency key
finds the same run, the audit entries go in with the runs, and jobs whose on_overlap reads
their active runs are still decided one at a time."""

from __future__ import annotations

import asyncio

import pytest

from tickwork.domain.errors import NotFound, Unavailable, ValidationError
from tickwork.domain.queries import RunFilter
from tickwork.domain.records import AuditNote
from tickwork.service.container import Container
from tickwork.testing import job_spec


def note(i: int) -> AuditNote:
    return AuditNote("ops", "operator", "jobs-trigger", "many", {"status": 202, "n": i})


async def test_concurrent_triggers_share_transactions_and_each_gets_its_run(
    app: Container,
) -> None:
    await app.jobs.create(job_spec("many", on_overlap="allow"))
    answers = await asyncio.gather(*(app.jobs.trigger("many", audit=note(i)) for i in range(40)))
    assert len({run_id for run_id, _, _ in answers}) == 40
    assert all(status == "queued" and created for _, status, created in answers)
    groups = app.jobs.triggers
    assert groups.grouped == 40 and groups.groups < 40  # the first alone, the rest together
    entries = await app.tokens.audit_log(limit=100, before=None, actor=None, action=None)
    assert sorted(e.details["n"] for e in entries) == list(range(40))
    job = await app.jobs.get("many")
    runs, total, _ = await app.store.runs.page(RunFilter(job_id=job.id), limit=100, cursor=None)
    assert total.count == 40 and {r.status for r in runs} == {"queued"}


async def test_a_bad_trigger_fails_alone(app: Container) -> None:
    await app.jobs.create(job_spec("good", on_overlap="allow"))
    await app.jobs.create(job_spec("guarded", on_overlap="queue"))
    answers = await asyncio.gather(
        app.jobs.trigger("good"),
        app.jobs.trigger("no-such-job"),
        app.jobs.trigger("guarded", parameters={"x": {"$secret": "NOT_REFERENCED"}}),
        app.jobs.trigger("guarded"),
        return_exceptions=True,
    )
    good, missing, refused, guarded = answers
    assert isinstance(good, tuple) and good[2] is True
    assert isinstance(missing, NotFound)
    assert isinstance(refused, ValidationError) and refused.field == "parameters.x"
    assert isinstance(guarded, tuple) and guarded[2] is True


async def test_one_key_in_one_group_makes_one_run(app: Container) -> None:
    await app.jobs.create(job_spec("keyed", on_overlap="allow"))
    answers = await asyncio.gather(
        *(app.jobs.trigger("keyed", idempotency_key="once") for _ in range(10))
    )
    assert len({run_id for run_id, _, _ in answers}) == 1
    assert sum(created for _, _, created in answers) == 1


async def test_skip_jobs_are_still_decided_one_at_a_time(app: Container) -> None:
    await app.jobs.create(job_spec("single", on_overlap="skip"))
    answers = await asyncio.gather(*(app.jobs.trigger("single") for _ in range(12)))
    assert len({run_id for run_id, _, _ in answers}) == 1
    assert sum(created for _, _, created in answers) == 1


async def test_a_group_the_database_refuses_fails_each_of_its_triggers(
    app: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    await app.jobs.create(job_spec("down", on_overlap="allow"))

    async def unavailable(*_args: object, **_kw: object) -> None:
        raise Unavailable("the database is unavailable; try again shortly")

    monkeypatch.setattr(app.store.runs, "trigger_many", unavailable)
    answers = await asyncio.gather(
        *(app.jobs.trigger("down") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(a, Unavailable) for a in answers)
    monkeypatch.undo()
    run_id, _, created = await app.jobs.trigger("down")  # the next group is written
    assert created and run_id
