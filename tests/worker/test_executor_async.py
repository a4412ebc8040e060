"""``async def`` python jobs: coroutines on async pool children, many at once on one loop."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from executor_helpers import MakeExecutors, Output, make_request, wait_until

from tickwork.worker.executors import ExecutionResult, Executors
from tickwork.worker.executors.process import pid_running
from tickwork.worker.executors.python import AsyncSettings, job_message


def settings(**fields: object) -> AsyncSettings:
    return AsyncSettings(**{"per_child": 100, "max_children": 2, "stall_after": 0.3, **fields})  # type: ignore[arg-type]


@pytest.fixture
async def async_executors(make_executors: MakeExecutors) -> Executors:
    return await make_executors(pool_size=1, asynchronous=settings())


@pytest.fixture
async def patient(make_executors: MakeExecutors) -> Executors:
    """A kill grace long enough that a cancel is never mistaken for a stuck run on a busy box."""
    return await make_executors(pool_size=1, grace_period=10.0, asynchronous=settings())


def run(executors: Executors, function: str, output: Output | None = None, **fields: object):  # type: ignore[no-untyped-def]
    req = make_request("python", function=function, **fields)
    return req, asyncio.ensure_future(executors.execute(req, output or Output()))


async def test_many_async_runs_share_one_child_at_once(async_executors: Executors) -> None:
    key = uuid.uuid4().hex
    # each run returns only once all 80 are in the same process at the same time
    runs = [
        run(async_executors, "jobs_fixture.meet", parameters={"key": key, "n": 80})[1]
        for _ in range(80)
    ]

    results = await asyncio.wait_for(asyncio.gather(*runs), 20)

    assert {r.status for r in results} == {"completed"}
    assert len({r.result for r in results}) == 1  # one child hosted them all
    assert async_executors.python.async_pool.pids == [results[0].result]
    assert results[0].result not in async_executors.python.pool.pids  # not a process slot


async def test_ctx_reaches_an_async_def(async_executors: Executors, output: Output) -> None:
    req = make_request("python", function="jobs_fixture.async_ctx", fence=42)

    result = await async_executors.execute(req, output)

    assert result.status == "completed", result.error
    assert result.result == {"run_id": req.run_id, "fence": 42}


async def test_a_timeout_stops_one_run_and_leaves_its_siblings_running(
    patient: Executors,
) -> None:
    _, slow = run(patient, "jobs_fixture.async_sleep", parameters={"seconds": 60}, timeout=0.3)
    siblings = [
        run(patient, "jobs_fixture.async_sleep", parameters={"seconds": 1.0})[1] for _ in range(5)
    ]

    timed_out = await asyncio.wait_for(slow, 10)
    assert timed_out.status == "timed_out"
    assert not any(s.done() for s in siblings)  # still sleeping on the same loop
    done = await asyncio.wait_for(asyncio.gather(*siblings), 10)

    assert {r.status for r in done} == {"completed"}
    assert patient.python.async_pool.pids == [done[0].result]  # the child lived on


async def test_a_cancel_stops_one_run_promptly_and_leaves_its_siblings(
    patient: Executors,
) -> None:
    req, victim = run(patient, "jobs_fixture.async_sleep", parameters={"seconds": 60})
    siblings = [
        run(patient, "jobs_fixture.async_sleep", parameters={"seconds": 1.0})[1] for _ in range(5)
    ]
    await wait_until(lambda: patient.python.async_pool.load == 6)

    assert await patient.cancel(req.run_id)
    cancelled = await asyncio.wait_for(victim, 5)  # its task is cancelled: no grace to wait

    assert cancelled.status == "cancelled"
    done = await asyncio.wait_for(asyncio.gather(*siblings), 10)
    assert {r.status for r in done} == {"completed"}


async def test_output_of_concurrent_runs_is_not_mixed(async_executors: Executors) -> None:
    outputs = {f"tag{i}": Output() for i in range(20)}
    runs = [
        run(
            async_executors, "jobs_fixture.async_chatter", out, parameters={"tag": tag, "lines": 30}
        )[1]
        for tag, out in outputs.items()
    ]

    results = await asyncio.wait_for(asyncio.gather(*runs), 20)

    assert {r.status for r in results} == {"completed"}
    for tag, out in outputs.items():
        assert out.text("stdout") == "".join(f"{tag}-{i}\n" for i in range(30))
        assert out.text("stderr") == "".join(f"{tag}-err-{i}\n" for i in range(30))


async def test_a_crashed_child_fails_its_runs_and_the_next_run_gets_a_new_one(
    async_executors: Executors,
) -> None:
    _, crasher = run(async_executors, "jobs_fixture.async_crash", parameters={"seconds": 0.3})
    siblings = [
        run(async_executors, "jobs_fixture.async_sleep", parameters={"seconds": 30})[1]
        for _ in range(3)
    ]
    await wait_until(lambda: async_executors.python.async_pool.load == 4)
    (first,) = async_executors.python.async_pool.pids

    results: list[ExecutionResult] = await asyncio.wait_for(asyncio.gather(crasher, *siblings), 10)

    assert {r.status for r in results} == {"failed"}
    assert all("child process died" in (r.error or "") for r in results), results[0].error
    assert all("SIGKILL" in (r.error or "") for r in results)
    await wait_until(lambda: not pid_running(first))
    again = await async_executors.execute(
        make_request("python", function="jobs_fixture.async_sleep", parameters={"seconds": 0}),
        Output(),
    )
    assert again.status == "completed"
    assert again.result != first


async def test_a_blocking_call_in_an_async_def_is_reported_with_the_run_id(
    async_executors: Executors, caplog: pytest.LogCaptureFixture
) -> None:
    out = Output()
    req, blocking = run(
        async_executors, "jobs_fixture.async_blocking", out, parameters={"seconds": 1.2}
    )
    _, bystander = run(async_executors, "jobs_fixture.async_sleep", parameters={"seconds": 0.1})

    with caplog.at_level(logging.WARNING):
        result = await asyncio.wait_for(blocking, 10)
        await asyncio.wait_for(bystander, 10)

    assert result.status == "completed"
    assert "[tickwork] warning: this run blocked its event loop for 1." in out.text("stderr")
    stalls = [r.getMessage() for r in caplog.records if "blocked the event loop" in r.getMessage()]
    assert any(f"run {req.run_id} blocked" in m for m in stalls), stalls
    noticed = [r.getMessage() for r in caplog.records if "is blocked by run" in r.getMessage()]
    assert any(req.run_id in m for m in noticed), noticed  # told while it was still blocked


async def test_a_run_blocking_its_loop_past_the_kill_grace_takes_its_child_down(
    async_executors: Executors,
) -> None:
    req, stuck = run(async_executors, "jobs_fixture.async_blocking", parameters={"seconds": 60})
    _, sibling = run(async_executors, "jobs_fixture.async_sleep", parameters={"seconds": 60})
    await wait_until(lambda: async_executors.python.async_pool.load == 2)
    (pid,) = async_executors.python.async_pool.pids

    await async_executors.cancel(req.run_id)  # grace 0.5 s: a blocked loop cannot take a cancel

    assert (await asyncio.wait_for(stuck, 10)).status == "cancelled"
    failed = await asyncio.wait_for(sibling, 10)
    assert failed.status == "failed" and "child process died" in (failed.error or "")
    await wait_until(lambda: not pid_running(pid))


async def test_sync_functions_still_run_on_the_process_pool(async_executors: Executors) -> None:
    result = await async_executors.execute(
        make_request("python", function="jobs_fixture.pid"), Output()
    )

    assert result.status == "completed"
    assert result.result in async_executors.python.pool.pids
    assert async_executors.known_slot("python", "jobs_fixture.pid", "pool") == "process"
    assert async_executors.known_slot("python", "jobs_fixture.async_sleep", "pool") is None
    assert await async_executors.slot("python", "jobs_fixture.async_sleep", "pool") == "async"
    assert async_executors.known_slot("http", None, "pool") == "loop"
    assert async_executors.known_slot("shell", None, "pool") == "process"


async def test_runs_spread_over_children_by_load(make_executors: MakeExecutors) -> None:
    executors = await make_executors(
        pool_size=1, asynchronous=settings(per_child=10, max_children=3)
    )
    runs = [
        run(executors, "jobs_fixture.async_sleep", parameters={"seconds": 0.5})[1]
        for _ in range(25)
    ]
    await wait_until(lambda: executors.python.async_pool.load == 25)

    results = await asyncio.wait_for(asyncio.gather(*runs), 10)

    assert {r.status for r in results} == {"completed"}
    pids = [r.result for r in results]
    assert len(set(pids)) == 3
    assert max(pids.count(p) for p in set(pids)) <= 10


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def test_the_async_example_runs_as_a_job(make_executors: MakeExecutors):
    executors = await make_executors(import_paths=[str(EXAMPLES)], asynchronous=settings())
    outputs = [Output() for _ in range(10)]
    reqs = [
        make_request("python", function="waits.poll_orders", parameters={"orders": [1, 2, 3]})
        for _ in outputs
    ]

    results = await asyncio.gather(
        *(executors.execute(r, o) for r, o in zip(reqs, outputs, strict=True))
    )

    assert [r.result for r in results] == [{"shipped": 2, "pending": 1}] * 10
    for req, out in zip(reqs, outputs, strict=True):
        assert out.text().endswith(f"run {req.run_id}: 3 orders checked\n")
    assert len(executors.python.async_pool.pids) == 1


def test_the_async_example_runs_as_a_script() -> None:
    script = subprocess.run(
        [sys.executable, "waits.py"], cwd=EXAMPLES, capture_output=True, text=True, timeout=60
    )
    assert script.returncode == 0, script.stderr
    assert script.stdout.endswith("{'pending': 2, 'shipped': 4}\n")


async def test_a_worn_out_child_is_replaced_while_its_last_runs_still_go_on(
    make_executors: MakeExecutors,
) -> None:
    executors = await make_executors(
        pool_size=1, max_runs_per_child=2, asynchronous=settings(per_child=2, max_children=1)
    )
    _, quick = run(executors, "jobs_fixture.async_sleep", parameters={"seconds": 0})
    _, long = run(executors, "jobs_fixture.async_sleep", parameters={"seconds": 30})
    first = (await asyncio.wait_for(quick, 10)).result  # the child has served its 2 runs

    later = await asyncio.wait_for(
        executors.execute(
            make_request("python", function="jobs_fixture.async_sleep", parameters={"seconds": 0}),
            Output(),
        ),
        5,
    )  # not held until the long run ends

    assert later.status == "completed" and later.result != first
    assert pid_running(first) and not long.done()
    await executors.cancel(long_id := next(iter(executors.active_runs)))
    assert long_id and (await asyncio.wait_for(long, 10)).status == "cancelled"
    await wait_until(lambda: not pid_running(first))  # gone once its last run ended


async def test_a_large_write_arrives_whole(async_executors: Executors, output: Output) -> None:
    req = make_request("python", function="jobs_fixture.async_flood", parameters={"chars": 300_000})

    result = await async_executors.execute(req, output)

    assert result.status == "completed"
    assert output.text() == "x" * 300_000 + "\n"
    assert len(output.chunks) >= 5  # in frames of 64 KiB characters


async def test_a_run_cancelled_before_its_first_step_is_still_answered(
    async_executors: Executors,
) -> None:
    req = make_request("python", function="jobs_fixture.async_sleep", parameters={"seconds": 60})
    child = await async_executors.python.async_pool.acquire()

    reply = child.start(req.run_id, job_message(req), Output())
    child.cancel(req.run_id)  # both frames arrive together: the task has not run yet

    answer = await asyncio.wait_for(reply, 5)
    assert answer["cancelled"] is True and answer["ok"] is False
    assert child.alive and child.load == 0
