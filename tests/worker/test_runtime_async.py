"""The runtime with ``--concurrency`` above ``--processes``: async def and http runs need no
process slot; sync runs wait for one."""

from __future__ import annotations

import logging
import os
import signal
import uuid

from executor_helpers import JOBS_DIR
from test_runtime_support import FakeCoordinator, make_worker, running, serving

LONG_JOB = "echo pid=$$; exec sleep 30"


async def test_async_runs_go_far_past_the_process_slots():
    key = uuid.uuid4().hex
    async with serving(FakeCoordinator()) as fake:
        busy = fake.add_run(LONG_JOB)  # holds the only process slot throughout
        ids = [
            fake.add_run(
                type="python", function="jobs_fixture.meet", parameters={"key": key, "n": 60}
            )
            for _ in range(60)
        ]
        worker = make_worker(fake, concurrency=80, processes=1, import_paths=[str(JOBS_DIR)])
        async with running(worker):
            await fake.wait_for(lambda: fake.pid_of(busy))
            # every run returns only once all 60 are in flight at once, in one child
            await fake.wait_for(lambda: all(fake.runs[r].completion for r in ids), 30)
            assert fake.runs[busy].completion is None  # the shell still holds its process
            assert len(worker.executors.python.pool.pids) == 1
            assert fake.workers[worker.worker_id].concurrency == 80  # registered as such
            fake.cancel(busy)
            await fake.wait_for(lambda: fake.runs[busy].completion, 10)
        results = {fake.runs[r].completion["result"] for r in ids}  # type: ignore[index]
        assert {fake.runs[r].status for r in ids} == {"completed"}
        assert len(results) == 1


async def test_an_http_run_needs_no_process_slot():
    async with serving(FakeCoordinator()) as fake:
        busy = fake.add_run(LONG_JOB)
        async with running(make_worker(fake, concurrency=3, processes=1)) as _:
            await fake.wait_for(lambda: fake.pid_of(busy))
            call = fake.add_run(type="http", request={"method": "GET", "url": f"{fake.url}/ping"})
            await fake.wait_for(lambda: fake.runs[call].completion, 10)
            fake.cancel(busy)
            await fake.wait_for(lambda: fake.runs[busy].completion, 10)
        assert fake.runs[call].status == "completed", fake.runs[call].completion
        assert fake.requests["ping"] == 1


async def test_sync_runs_wait_for_a_process_slot_while_async_runs_pass_them():
    async with serving(FakeCoordinator()) as fake:
        busy = fake.add_run(LONG_JOB)
        waiting = fake.add_run("echo second")
        quick = fake.add_run(
            type="python", function="jobs_fixture.async_sleep", parameters={"seconds": 0}
        )
        worker = make_worker(
            fake, concurrency=10, processes=1, prefetch=2, import_paths=[str(JOBS_DIR)]
        )
        async with running(worker):
            await fake.wait_for(lambda: fake.pid_of(busy))
            await fake.wait_for(lambda: fake.runs[quick].completion, 10)
            assert not fake.runs[waiting].started  # claimed, waiting for the process slot
            fake.cancel(busy)
            await fake.wait_for(lambda: fake.runs[waiting].completion, 10)
        assert fake.runs[waiting].stdout == "second\n"


async def test_concurrent_async_output_is_masked_per_run(monkeypatch):  # type: ignore[no-untyped-def]
    secret = "s3cr3t-ASYNC-77ab"
    monkeypatch.setenv("TW_RT_ASYNC_SECRET", secret)
    async with serving(FakeCoordinator()) as fake:
        ids = [
            fake.add_run(
                type="python",
                function="jobs_fixture.async_chatter",
                parameters={"tag": {"$secret": "TW_RT_ASYNC_SECRET"}, "lines": 5},
            )
            for _ in range(10)
        ]
        worker = make_worker(
            fake,
            concurrency=20,
            processes=1,
            import_paths=[str(JOBS_DIR)],
            secrets=["TW_RT_ASYNC_SECRET"],
        )
        async with running(worker):
            await fake.wait_for(lambda: all(fake.runs[r].completion for r in ids), 20)
        for run_id in ids:
            run = fake.runs[run_id]
            assert run.status == "completed", run.completion
            assert secret not in run.stdout + run.stderr
            assert run.stdout.count("-4\n") == 1  # its own five lines, masked, no one else's
            assert len(run.stdout.splitlines()) == 5


async def test_a_killed_async_child_fails_its_runs_and_the_worker_goes_on():
    async with serving(FakeCoordinator()) as fake:
        ids = [
            fake.add_run(
                type="python", function="jobs_fixture.async_sleep", parameters={"seconds": 30}
            )
            for _ in range(5)
        ]
        worker = make_worker(fake, concurrency=10, processes=1, import_paths=[str(JOBS_DIR)])
        async with running(worker):
            pool = worker.executors.python.async_pool
            await fake.wait_for(lambda: pool.load == 5 and all(fake.runs[r].started for r in ids))
            (pid,) = pool.pids
            os.kill(pid, signal.SIGKILL)
            await fake.wait_for(lambda: all(fake.runs[r].completion for r in ids), 10)
            after = fake.add_run(
                type="python", function="jobs_fixture.async_sleep", parameters={"seconds": 0}
            )
            await fake.wait_for(lambda: fake.runs[after].completion, 10)
        for run_id in ids:
            completion = fake.runs[run_id].completion
            assert completion is not None and completion["status"] == "failed"
            assert "child process died" in completion["error"]
        assert fake.runs[after].status == "completed"
        assert fake.runs[after].completion["result"] != pid  # type: ignore[index]


async def test_sync_runs_waiting_for_a_process_are_handed_back_and_claims_go_on():
    # ack timeout 2 s: a run still waiting for a process 0.5 s after its claim goes back
    async with serving(FakeCoordinator(lease=3, heartbeat_interval=0.5, ack_timeout=2)) as fake:
        busy = fake.add_run(LONG_JOB)
        waiting = [fake.add_run("echo later") for _ in range(5)]
        worker = make_worker(fake, concurrency=20, processes=1, import_paths=[str(JOBS_DIR)])
        async with running(worker):
            await fake.wait_for(lambda: fake.pid_of(busy))
            await fake.wait_for(lambda: set(waiting) <= set(fake.released), 10)
            quick = fake.add_run(
                type="python", function="jobs_fixture.async_sleep", parameters={"seconds": 0}
            )
            await fake.wait_for(lambda: fake.runs[quick].completion, 10)
            assert fake.runs[busy].completion is None  # claims went on past the sync backlog
            assert not any(fake.runs[r].started for r in waiting)
            fake.cancel(busy)
            await fake.wait_for(lambda: all(fake.runs[r].completion for r in waiting), 20)
        assert {fake.runs[r].stdout for r in waiting} == {"later\n"}


async def test_a_blocked_loop_is_reported_in_the_runs_output_and_the_worker_log(caplog):  # type: ignore[no-untyped-def]
    async with serving(FakeCoordinator()) as fake:
        blocking = fake.add_run(
            type="python", function="jobs_fixture.async_blocking", parameters={"seconds": 1.0}
        )
        worker = make_worker(
            fake, concurrency=10, processes=1, stall_after=0.3, import_paths=[str(JOBS_DIR)]
        )
        with caplog.at_level(logging.WARNING):
            async with running(worker):
                await fake.wait_for(lambda: fake.runs[blocking].completion, 10)
        run = fake.runs[blocking]
        assert run.status == "completed"
        assert "[tickwork] warning: this run blocked its event loop for" in run.stderr
        assert any(
            f"run {blocking} blocked the event loop" in r.getMessage() for r in caplog.records
        )
