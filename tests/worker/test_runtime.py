"""The worker runtime against a fake coordinator served over real HTTP."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import pytest
from test_runtime_support import FakeCoordinator, alive, make_worker, running, serving

from tickwork.coord.local import LocalLocks

LONG_JOB = "echo pid=$$; exec sleep 30"


async def test_registers_prints_two_lines_and_deregisters(capsys: pytest.CaptureFixture[str]):
    async with serving(FakeCoordinator()) as fake:
        worker = make_worker(fake, concurrency=3, hostname="box-1")
        async with running(worker):
            out = capsys.readouterr().out
            assert out == f"Worker {worker.worker_id} registered\nListening for jobs...\n"
            registered = fake.workers[worker.worker_id]
            assert (registered.hostname, registered.concurrency) == ("box-1", 3)
            assert registered.tags == ["default"]
        assert fake.deregistered == [worker.worker_id]


async def test_claim_start_log_complete_in_batched_reports():
    async with serving(FakeCoordinator()) as fake:
        ids = [fake.add_run("echo out-$TICKWORK_RUN_ID; echo err >&2") for _ in range(200)]
        async with running(make_worker(fake, concurrency=16)):
            await fake.wait_for(lambda: all(fake.runs[r].completion for r in ids), 60)
        for run_id in ids:
            run = fake.runs[run_id]
            assert run.status == "completed", run.completion
            assert (run.stdout, run.stderr) == (f"out-{run_id}\n", "err\n")
        reports = fake.requests["report"]
        assert reports < len(ids), f"{reports} reports for {len(ids)} runs"
        assert max(len(r.completions) for r in fake.reports) > 1
        assert max(len(r.starts) for r in fake.reports) > 1


async def test_python_job_imports_from_the_worker_path(tmp_path: Path):
    (tmp_path / "rt_jobs_mod.py").write_text(
        "def greet(name):\n    print('hello', name)\n    return {'greeted': name}\n"
    )
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run(type="python", function="rt_jobs_mod.greet", parameters={"name": "x"})
        async with running(make_worker(fake, import_paths=[str(tmp_path)])):
            await fake.wait_for(lambda: fake.runs[run_id].completion)
        run = fake.runs[run_id]
        assert run.status == "completed", run.completion
        assert run.completion is not None and run.completion["result"] == {"greeted": "x"}
        assert run.stdout == "hello x\n"


async def test_failing_shell_job_reports_its_exit_code():
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run("echo nope >&2; exit 3")
        async with running(make_worker(fake)):
            await fake.wait_for(lambda: fake.runs[run_id].completion)
        completion = fake.runs[run_id].completion
        assert completion is not None
        assert (completion["status"], completion["exit_code"]) == ("failed", 3)
        assert fake.runs[run_id].stderr == "nope\n"


async def test_stale_fence_on_a_report_kills_the_run():
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run("echo pid=$$; while :; do echo tick; sleep 0.05; done")
        worker = make_worker(fake)
        async with running(worker):
            await fake.wait_for(lambda: fake.pid_of(run_id))
            pid = fake.pid_of(run_id)
            assert pid is not None and alive(pid)
            fake.steal(run_id)  # the next log chunk is answered stale_fence
            await fake.wait_for(lambda: not alive(pid), 5)
            await fake.wait_for(lambda: run_id not in worker.runs)
        assert fake.runs[run_id].completion is None


async def test_cancel_through_the_heartbeat_long_poll_kills_a_shell_job_quickly():
    async with serving(FakeCoordinator(heartbeat_interval=30)) as fake:
        run_id = fake.add_run(LONG_JOB)
        async with running(make_worker(fake)):
            await fake.wait_for(lambda: fake.pid_of(run_id))
            pid = fake.pid_of(run_id)
            assert pid is not None
            started = time.monotonic()
            fake.cancel(run_id)
            await fake.wait_for(lambda: fake.runs[run_id].completion, 2)
            elapsed = time.monotonic() - started
            assert not alive(pid)
        assert fake.runs[run_id].status == "cancelled"
        assert elapsed < 2


async def test_failing_heartbeats_past_lease_minus_margin_kill_the_runs():
    # lease 3 s → margin 1 s: with no heartbeat for 2 s the worker kills what it holds
    async with serving(FakeCoordinator(lease=3, heartbeat_interval=0.5)) as fake:
        run_id = fake.add_run(LONG_JOB)
        worker = make_worker(fake)
        async with running(worker):
            await fake.wait_for(lambda: fake.pid_of(run_id))
            pid = fake.pid_of(run_id)
            assert pid is not None
            fake.fail_heartbeats = True
            failing_since = time.monotonic()
            await fake.wait_for(lambda: not alive(pid), 6)
            assert time.monotonic() - failing_since > 1.5  # not before lease - margin
            await fake.wait_for(lambda: fake.runs[run_id].completion)
            fake.fail_heartbeats = False
            beats = worker.heartbeat.beats
            await fake.wait_for(lambda: worker.heartbeat.beats > beats, 5)  # reconnected
        completion = fake.runs[run_id].completion
        assert completion is not None and completion["status"] == "failed"
        assert "lost contact" in completion["error"]


async def test_a_lost_lease_cuts_the_kill_grace_so_the_run_dies_before_the_lease_passes():
    # lease 3 s: the watchdog fires 2 s after the last answered heartbeat and SIGKILLs 0.7 s
    # later, however long --kill-grace is (here 30 s, and the job ignores SIGTERM)
    async with serving(FakeCoordinator(lease=3, heartbeat_interval=0.5)) as fake:
        run_id = fake.add_run("trap '' TERM; echo pid=$$; exec sleep 60")
        async with running(make_worker(fake, grace_period=30)):
            await fake.wait_for(lambda: fake.pid_of(run_id))
            pid = fake.pid_of(run_id)
            assert pid is not None
            fake.fail_heartbeats = True
            await fake.wait_for(lambda: not alive(pid), 15)  # not 30 s after SIGTERM
            await fake.wait_for(lambda: fake.runs[run_id].completion)
        completion = fake.runs[run_id].completion
        assert completion is not None and "lost contact" in completion["error"]


async def test_graceful_shutdown_lets_in_flight_runs_finish_then_deregisters():
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run("echo pid=$$; sleep 0.5; echo done")
        worker = make_worker(fake)
        async with running(worker) as task:
            await fake.wait_for(lambda: fake.pid_of(run_id))
            worker.request_stop()
            await fake.wait_for(task.done, 10)
        run = fake.runs[run_id]
        assert run.status == "completed"
        assert run.stdout.endswith("done\n")
        assert fake.deregistered == [worker.worker_id]


async def test_runs_past_the_shutdown_grace_are_failed_for_a_retry():
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run(LONG_JOB)
        worker = make_worker(fake, shutdown_grace=0.3)
        async with running(worker) as task:
            await fake.wait_for(lambda: fake.pid_of(run_id))
            pid = fake.pid_of(run_id)
            assert pid is not None
            worker.request_stop()
            await fake.wait_for(task.done, 10)
            assert not alive(pid)
        completion = fake.runs[run_id].completion
        assert completion is not None
        assert (completion["status"], completion["error"]) == ("failed", "worker shutting down")
        assert fake.deregistered == [worker.worker_id]


async def test_a_second_stop_request_cuts_the_grace_period_short():
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run(LONG_JOB)
        worker = make_worker(fake, shutdown_grace=60)
        async with running(worker) as task:
            await fake.wait_for(lambda: fake.pid_of(run_id))
            pid = fake.pid_of(run_id)
            assert pid is not None
            worker.request_stop()
            await fake.wait_for(lambda: worker.stopping)
            assert not task.done() and alive(pid)  # the first request waits for the run
            worker.request_stop()
            await fake.wait_for(task.done, 10)  # well inside the 60 s grace
            assert not alive(pid)
        completion = fake.runs[run_id].completion
        assert completion is not None
        assert (completion["status"], completion["error"]) == ("failed", "worker shutting down")


async def test_a_run_whose_lock_is_taken_is_skipped():
    locks = LocalLocks()
    async with serving(FakeCoordinator()) as fake:
        locked = fake.add_run("echo should-not-run")
        await locks.acquire(f"run:{locked}:1", "another-worker", 60)
        free = fake.add_run("echo ran")
        worker = make_worker(fake, locks=locks)
        async with running(worker):
            await fake.wait_for(lambda: fake.runs[free].completion)
            assert fake.runs[locked].status == "running"  # claimed, left to the ack timeout
            assert not fake.runs[locked].started
            assert locked not in worker.runs
        assert fake.runs[free].stdout == "ran\n"
        assert fake.runs[locked].stdout == ""
        assert all(s.run_id != locked for r in fake.reports for s in r.starts)


async def test_forgotten_worker_kills_its_runs_and_registers_again():
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run(LONG_JOB)
        worker = make_worker(fake, concurrency=1)
        async with running(worker):
            await fake.wait_for(lambda: fake.pid_of(run_id))
            pid = fake.pid_of(run_id)
            assert pid is not None
            first = worker.worker_id
            fake.runs[run_id].command = "echo second-time"  # the reclaimed run, next attempt
            fake.forget_worker(first)
            await fake.wait_for(lambda: not alive(pid), 5)
            await fake.wait_for(lambda: len(fake.registrations) == 2)
            await fake.wait_for(lambda: fake.runs[run_id].completion)
        assert worker.worker_id != first
        run = fake.runs[run_id]
        assert (run.status, run.worker) == ("completed", worker.worker_id)
        assert run.stdout == "second-time\n"


@pytest.mark.redis
async def test_with_a_redis_url_the_run_lock_lives_in_redis():
    from tickwork.coord.redis import create_coordination

    url = os.environ.get("TICKWORK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"tickwork-test-{uuid.uuid4().hex[:8]}"
    coord = create_coordination(url, prefix)
    try:
        async with serving(FakeCoordinator()) as fake:
            locked = fake.add_run("echo should-not-run")
            assert await coord.locks.acquire(f"run:{locked}:1", "another-worker", 60)
            free = fake.add_run("echo ran")
            worker = make_worker(fake, redis_url=url, redis_prefix=prefix)
            async with running(worker):
                await fake.wait_for(lambda: fake.runs[free].completion)
                assert not fake.runs[locked].started
            assert fake.runs[free].status == "completed"
            # the worker released its own lock when the run ended
            assert await coord.locks.acquire(f"run:{free}:1", "someone-else", 1)
    finally:
        await coord.stop()


async def test_an_unreachable_lock_service_does_not_stop_runs(caplog: pytest.LogCaptureFixture):
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run("echo ran")
        worker = make_worker(fake, redis_url="redis://127.0.0.1:1/0")
        async with running(worker):
            await fake.wait_for(lambda: fake.runs[run_id].completion)
        assert fake.runs[run_id].status == "completed"
        assert "relying on the fence" in caplog.text


async def test_a_run_executes_before_its_start_is_answered(tmp_path: Path):
    async with serving(FakeCoordinator()) as fake:
        fake.set_holding(True)  # no report is answered yet
        run_id = fake.add_run(f"touch {tmp_path}/ran")
        async with running(make_worker(fake)):
            await fake.wait_for(lambda: (tmp_path / "ran").exists())
            assert fake.reports == []
            fake.set_holding(False)
            await fake.wait_for(lambda: fake.runs[run_id].completion)
        assert [s.run_id for r in fake.reports for s in r.starts] == [run_id]
        completion = fake.runs[run_id].completion
        assert completion is not None and completion["status"] == "completed"
        assert completion["elapsed"] is not None and 0 <= completion["elapsed"] < 5


async def test_a_short_runs_start_leaves_with_its_completion_a_long_ones_before_output():
    async with serving(FakeCoordinator()) as fake:
        short = fake.add_run("true")
        chatty = fake.add_run("echo early; sleep 0.3")
        async with running(make_worker(fake)):
            await fake.wait_for(
                lambda: fake.runs[short].completion and fake.runs[chatty].completion
            )

        def first(run_id: str, kind: str) -> int:
            return next(
                i
                for i, r in enumerate(fake.reports)
                if run_id in {x.run_id for x in getattr(r, kind)}
            )

        assert first(short, "starts") == first(short, "completions")  # one write, dated back
        assert first(chatty, "starts") == first(chatty, "logs") < first(chatty, "completions")
        assert fake.runs[chatty].stdout == "early\n"


async def test_a_run_whose_start_is_not_confirmed_in_time_stops_itself(tmp_path: Path):
    # lease 3 s, ack timeout 2 s: the start must be answered within 1 s of the claim's send,
    # and the run is SIGKILLed 0.7 s later at the latest (the job ignores SIGTERM)
    pid_file = tmp_path / "pid"
    async with serving(FakeCoordinator(lease=3, heartbeat_interval=0.5, ack_timeout=2)) as fake:
        fake.set_holding(True)
        run_id = fake.add_run(f"trap '' TERM; echo $$ > {pid_file}; exec sleep 60")
        async with running(make_worker(fake, grace_period=30)):
            await fake.wait_for(lambda: pid_file.exists() and pid_file.read_text().strip())
            pid = int(pid_file.read_text())
            seen = time.monotonic()
            await fake.wait_for(lambda: not alive(pid), 5)
            assert time.monotonic() - seen < 1.7 + 0.5  # within the window, not 30 s grace
            fake.set_holding(False)
            await fake.wait_for(lambda: fake.runs[run_id].completion)
        completion = fake.runs[run_id].completion
        assert completion is not None and completion["status"] == "failed"
        assert "did not confirm the run's start in time" in completion["error"]


async def test_the_ack_window_counts_from_when_a_long_polled_claim_was_answered(
    tmp_path: Path,
):
    # ack timeout 2 s: a start must be answered within 1 s of the claim, which here comes
    # 1.5 s after the claim request was sent (held open by the coordinator until a run came)
    async with serving(FakeCoordinator(lease=3, heartbeat_interval=0.5, ack_timeout=2)) as fake:
        worker = make_worker(fake)
        async with running(worker):
            await fake.wait_for(lambda: fake.requests["claim"] >= 1)
            await asyncio.sleep(1.5)
            run_id = fake.add_run(f"sleep 0.5; touch {tmp_path}/done")
            await fake.wait_for(lambda: fake.runs[run_id].completion, 5)
        completion = fake.runs[run_id].completion
        assert completion is not None and completion["status"] == "completed", completion
        assert (tmp_path / "done").exists()
        assert fake.released == []  # not stopped nor handed back as if claimed 1.5 s ago
        assert fake.runs[run_id].fence == 1


async def test_runs_are_claimed_ahead_of_free_slots_and_handed_back_at_shutdown():
    async with serving(FakeCoordinator(heartbeat_interval=0.5, lease=3)) as fake:
        busy = fake.add_run(LONG_JOB)
        ahead = fake.add_run("echo never")
        worker = make_worker(fake, concurrency=1, prefetch=1, shutdown_grace=0.3)
        async with running(worker) as task:
            await fake.wait_for(lambda: fake.pid_of(busy))
            await fake.wait_for(lambda: fake.runs[ahead].worker == worker.worker_id)
            assert not fake.runs[ahead].started  # claimed, waiting for the slot
            await fake.wait_for(
                lambda: any(
                    {r.run_id for r in body.runs} == {busy, ahead} for _, body in fake.heartbeats
                )
            )  # its lease is kept like any held run's
            worker.request_stop()
            await fake.wait_for(task.done, 10)
        assert fake.released == [ahead]
        assert (fake.runs[ahead].status, fake.runs[ahead].stdout) == ("queued", "")


async def test_a_prefetched_run_that_waits_too_long_is_handed_back_once():
    # ack timeout 2 s: a run still waiting for a slot 0.5 s after its claim goes back
    async with serving(FakeCoordinator(lease=3, heartbeat_interval=0.5, ack_timeout=2)) as fake:
        busy = fake.add_run(LONG_JOB)
        ahead = fake.add_run("echo ran")
        async with running(make_worker(fake, concurrency=1, prefetch=1)):
            await fake.wait_for(lambda: fake.pid_of(busy))
            await fake.wait_for(lambda: fake.released == [ahead], 5)
            assert fake.runs[ahead].status == "queued"  # claimed again only once a slot frees
            fake.cancel(busy)
            await fake.wait_for(lambda: fake.runs[ahead].completion, 5)
        assert fake.released == [ahead]
        assert fake.runs[ahead].stdout == "ran\n"


async def test_reports_that_free_room_claim_it_and_the_claim_loop_waits_for_them():
    """With a coordinator that takes claims in reports, finishing runs refill their slots
    through the reports that carry the completions: few claim requests of their own, every
    run done once, and never more runs held than the slots and the prefetch."""
    async with serving(FakeCoordinator(report_claims=True)) as fake:
        ids = [fake.add_run("true") for _ in range(120)]
        worker = make_worker(fake, concurrency=8)
        async with running(worker):
            await fake.wait_for(lambda: all(fake.runs[r].completion for r in ids), 60)
        assert all(fake.runs[r].status == "completed" for r in ids)
        carried = [r for r in fake.reports if r.claim]
        assert carried and all(r.completions or r.releases for r in carried)
        assert fake.requests["claim"] < len(carried)
        held = fake.most_held[worker.worker_id]
        assert held <= worker.concurrency + worker.prefetch, held


async def test_without_the_coordinators_offer_reports_never_carry_claims():
    async with serving(FakeCoordinator()) as fake:
        ids = [fake.add_run("true") for _ in range(20)]
        async with running(make_worker(fake, concurrency=4)):
            await fake.wait_for(lambda: all(fake.runs[r].completion for r in ids), 30)
        assert fake.reports and not any(r.claim for r in fake.reports)


async def test_an_at_most_once_run_executes_only_once_its_start_is_answered(tmp_path: Path):
    """An at-least-once run executes on its claim; an at-most-once one waits for the
    coordinator to take its start (it could be claimed again if the start never arrived)."""
    async with serving(FakeCoordinator()) as fake:
        fake.set_holding(True)  # reports (the starts among them) go unanswered for now
        eager = fake.add_run(f"touch {tmp_path}/eager")
        careful = fake.add_run(f"touch {tmp_path}/careful", delivery="at_most_once")
        async with running(make_worker(fake, concurrency=2)):
            await fake.wait_for(lambda: (tmp_path / "eager").exists(), 10)
            await fake.wait_for(lambda: fake.requests["report"] >= 1, 10)
            assert not (tmp_path / "careful").exists()  # its start is still unanswered
            fake.set_holding(False)
            await fake.wait_for(lambda: fake.runs[careful].completion, 10)
        assert (tmp_path / "careful").exists()
        assert fake.runs[careful].status == fake.runs[eager].status == "completed"
