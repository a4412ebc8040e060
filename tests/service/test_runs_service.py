"""Run control answers with the state its own change made, whatever a worker does next."""

from __future__ import annotations

from tickwork.domain.runs import Completion
from tickwork.service.container import Container
from tickwork.testing import job_spec


async def failed_run(app: Container) -> tuple[str, str]:
    """A run that failed its only attempt, and the worker that ran it."""
    await app.jobs.create(job_spec("flaky", retries=0))
    worker = await app.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=1, version="t"
    )
    run_id, _, _ = await app.jobs.trigger("flaky")
    [a] = await app.workers.claim(worker.id, limit=1, wait=0)
    await app.workers.report(worker.id, starts=[(run_id, a.fence)], logs=[], completions=[])
    done = Completion(run_id=run_id, fence=a.fence, outcome="failed", error="boom")
    await app.workers.report(worker.id, starts=[], logs=[], completions=[done])
    assert (await app.runs.get(run_id)).status == "failed"
    return run_id, worker.id


async def test_retry_answers_queued_even_if_a_worker_claims_at_once(app: Container) -> None:
    run_id, worker_id = await failed_run(app)
    woken = app.notifier.runs_ready

    async def claim_as_soon_as_woken() -> None:  # a long-polling worker, at its fastest
        await woken()
        assert await app.workers.claim(worker_id, limit=1, wait=0)

    app.notifier.runs_ready = claim_as_soon_as_woken  # type: ignore[method-assign]
    answer = await app.runs.retry(run_id)
    assert answer.status == "queued"
    assert (await app.runs.get(run_id)).status == "running"  # the claim did happen
    letters, _ = await app.runs.dead_letters(resolved=None, limit=10, offset=0)
    [letter] = letters
    assert letter.resolution == "retried"
