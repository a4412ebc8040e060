"""`tickwork top` driven with Textual's pilot against a real coordinator (in-process uvicorn on
SQLite) and a real worker process; assertions read the server's state and the widgets' text."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Log, Static

from tests.client.served import Served, serve, start_worker
from tests.integration.harness import Proc, free_port
from tickwork.client import Client
from tickwork.schemas.runs import AttemptOut, EventOut, RunDetail, RunOut
from tickwork.tui import TopApp
from tickwork.tui.app import HELP
from tickwork.tui.data import elapsed, span
from tickwork.tui.panels import FailuresTable, Panel, RunsTable, WorkersTable
from tickwork.tui.screens import ConfirmScreen, LogScreen, TriggerScreen
from tickwork.tui.tail import Tail

from .conftest import invoker

Top = Pilot[None]


class Live:
    def __init__(self, served: Served, worker: Proc, root: Path) -> None:
        self.served = served
        self.worker = worker
        self.root = root
        self.url = served.url
        self.client = Client(served.url, token="")

    def job(self, name: str, **fields: Any) -> None:
        self.client.create_job({"name": name, **fields})

    def status(self, run_id: str) -> str:
        return self.client.get_run(run_id).status

    def gated(self, name: str, before: str = "", after: str = "") -> tuple[str, Path]:
        """A shell job that prints ``before``, waits for a file, prints ``after``; its run."""
        gate = self.root / f"{name}.gate"
        loop = f"while [ ! -e {gate} ]; do sleep 0.05; done"
        self.job(name, type="shell", command=f"echo {before}; {loop}; echo {after}")
        return self.client.trigger(name).run_id, gate


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("top")
    # generous leases: on a loaded machine a worker must not lose its runs mid-test
    lenient = {"lease_seconds": 30, "worker_lost_after": 20, "ack_timeout": 10}
    with serve(root / "tickwork.db", **lenient) as served:
        worker = start_worker(served.url)
        env = Live(served, worker, root)
        try:
            yield env
        finally:
            env.client.close()
            worker.stop()


def app_for(url: str, token: str | None = "", **kwargs: Any) -> TopApp:
    return TopApp(url, token, interval=0.3, retry_delay=0.1, **kwargs)


async def until(pilot: Top, check: Callable[[], Any], what: str, within: float = 20) -> Any:
    """Let the app run until ``check`` holds (the app's loops poll the server meanwhile)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := check():
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


def text(pilot: Top, selector: str) -> str:
    """The text of a line (status, stats, message, help, log title) of the screen on top."""
    return str(pilot.app.screen.query_one(selector, Static).content)


def row(table: Panel, key: str) -> str:
    """A row's cells as one line of plain text; empty when the row is not there."""
    if key not in table.rows:
        return ""
    return " ".join(str(cell) for cell in table.get_row(key))


async def select(pilot: Top, table: Panel, key: str) -> None:
    """Tab to the panel and move the cursor onto a row with the arrow keys, as a person would."""
    for _ in range(3):
        if pilot.app.focused is table:
            break
        await pilot.press("tab")
    assert pilot.app.focused is table
    await until(pilot, lambda: key in table.rows, f"{key} in {table.id}")
    await pilot.press(*["up"] * table.row_count)
    for _ in range(table.row_count):
        if table.selected() == key:
            return
        await pilot.press("down")
    assert table.selected() == key


async def test_the_panels_show_runs_failures_and_workers_at_80x24(live: Live) -> None:
    running, gate = live.gated("top-busy", before="busy")
    live.job("top-parked", type="shell", command="true", worker_tags=["nowhere"])
    queued = live.client.trigger("top-parked").run_id
    live.job("top-broken", type="shell", command="exit 3", retries=0)
    failed = live.client.trigger("top-broken").run_id
    app = app_for(live.url)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            runs, failures = app.query_one(RunsTable), app.query_one(FailuresTable)
            workers = app.query_one(WorkersTable)
            line = await until(
                pilot,
                lambda: "running" in row(runs, running) and row(runs, running),
                "the running run",
            )
            assert "top-busy" in line and re.search(r"\d+s/1h00m", line), line
            assert "queued" in row(runs, queued) and "wait " in row(runs, queued)
            failure = await until(pilot, lambda: row(failures, failed), "the failed run")
            assert "top-broken" in failure and "exit code 3" in failure
            worker = await until(pilot, lambda: workers.row_count and workers.rows, "a worker")
            key = str(next(iter(worker)).value)
            busy = await until(pilot, lambda: re.search(r"\b1/4\b", row(workers, key)), "1/4")
            assert busy and "online" in row(workers, key)
            assert "connected" in text(pilot, "#status")
            stats = text(pilot, "#stats")
            assert "queue" in stats and "running" in stats and "lag" in stats
            assert text(pilot, "#help") == HELP and len(HELP) <= 80
            for widget in (runs, failures, workers, *app.query(Static)):
                region = widget.region
                assert region.height >= 1 and region.right <= 80 and region.bottom <= 24
            for panel in (runs, failures, workers):
                assert panel.region.height >= 4, panel.id  # border, header and a row at least
            assert app.query_one("#help").region.y == 23
    finally:
        gate.touch()


async def test_keys_trigger_cancel_and_retry(live: Live) -> None:
    live.job("top-echo", type="shell", command="echo triggered")
    live.job("top-held", type="shell", command="true", worker_tags=["nowhere"])
    held = live.client.trigger("top-held").run_id
    marker = live.root / "flaky.marker"
    flaky = f"test -e {marker} || {{ touch {marker}; echo first try >&2; exit 3; }}"
    live.job("top-flaky", type="shell", command=flaky, retries=0)
    failed = live.client.trigger("top-flaky").run_id
    app = app_for(live.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TriggerScreen), "the trigger prompt")
        await pilot.press(*"top-echo", "enter")
        message = await until(
            pilot,
            lambda: "triggered" in text(pilot, "#message") and text(pilot, "#message"),
            "the trigger's answer",
        )
        runs = live.client.job_runs("top-echo").runs
        assert len(runs) == 1 and message == f"triggered top-echo → {runs[0].id} (queued)"

        await select(pilot, app.query_one(RunsTable), held)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("t")  # the panel keys wait while a question is open
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert text(pilot, "#message") == "nothing cancelled" and live.status(held) == "queued"
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: "cancelled:" in text(pilot, "#message"), "the cancel")
        assert live.status(held) == "cancelled"
        await until(pilot, lambda: held not in app.query_one(RunsTable).rows, "the row to go")

        await until(pilot, lambda: live.status(failed) == "failed", "the first attempt to fail")
        await select(pilot, app.query_one(FailuresTable), failed)
        await pilot.press("r")
        await until(pilot, lambda: "again:" in text(pilot, "#message"), "the retry")
        assert text(pilot, "#message") == f"queued again: {failed} (top-flaky)"
        await until(pilot, lambda: live.status(failed) == "completed", "the second attempt")
        assert live.client.get_run(failed).attempt == 2


async def test_the_log_tail_shows_stored_then_live_output(live: Live) -> None:
    run_id, gate = live.gated("top-talker", before="hello-from-top", after="bye-from-top")
    app = app_for(live.url)
    async with app.run_test(size=(80, 24)) as pilot:
        runs = app.query_one(RunsTable)
        await until(pilot, lambda: "running" in row(runs, run_id), "the running run")
        await until(pilot, lambda: "hello" in live.client.run_logs(run_id).stdout, "the first line")
        await select(pilot, runs, run_id)
        await pilot.press("l")
        screen = await until(pilot, lambda: isinstance(app.screen, LogScreen) and app.screen, "")
        log = screen.query_one(Log)
        await until(pilot, lambda: "hello-from-top" in log.lines, "the stored output")
        title = f"{run_id} · top-talker · running"
        await until(pilot, lambda: title in text(pilot, "#log-title"), "the run's headline")
        gate.touch()
        await until(pilot, lambda: "bye-from-top" in log.lines, "the live output")
        end = await until(
            pilot, lambda: [ln for ln in log.lines if ln.startswith("──")], "the end line"
        )
        assert log.lines[:2] == ["hello-from-top", "bye-from-top"]  # each line once
        assert end[0].startswith(f"── {run_id} completed after ")
        assert "completed" in text(pilot, "#log-title")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LogScreen), "the panels again")
        assert isinstance(app.focused, RunsTable)


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[Served, dict[str, str]]]:
    with serve(tmp_path / "auth.db", auth=True) as s:
        tokens = {
            role: s.run(s.container.tokens.create(name=role, role=role, expires_in=None))[1]
            for role in ("viewer", "admin")
        }
        yield s, tokens


async def test_a_viewer_sees_everything_and_is_refused_actions_with_the_reason(
    secured: tuple[Served, dict[str, str]],
) -> None:
    server, tokens = secured
    with Client(server.url, token=tokens["admin"]) as admin:
        admin.create_job({"name": "guarded", "type": "shell", "command": "true"})
        run_id = admin.trigger("guarded").run_id
        app = app_for(server.url, tokens["viewer"])
        async with app.run_test(size=(80, 24)) as pilot:
            runs = app.query_one(RunsTable)
            await select(pilot, runs, run_id)
            assert "connected" in text(pilot, "#status")  # a viewer may read and follow
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.press("y")
            message = await until(pilot, lambda: text(pilot, "#message"), "the refusal")
            assert message.startswith(f"cancel {run_id}: 403 forbidden: a viewer token may not")
            assert admin.get_run(run_id).status == "queued"
            await pilot.press("t", *"guarded", "enter")
            await until(pilot, lambda: "trigger guarded: 403" in text(pilot, "#message"), "")
            assert admin.job_runs("guarded").total == 1
            assert app.is_running


async def test_a_bad_token_is_refused_with_the_reason(
    secured: tuple[Served, dict[str, str]],
) -> None:
    server, _ = secured
    app = app_for(server.url, "tw_not_a_real_token")
    async with app.run_test(size=(80, 24)) as pilot:
        status = await until(
            pilot,
            lambda: "refused" in text(pilot, "#status") and text(pilot, "#status"),
            "the refusal",
        )
        assert "refused: 401 unauthorized" in status
        assert app.is_running


async def test_a_coordinator_that_goes_away_shows_disconnected_and_recovers(
    tmp_path: Path,
) -> None:
    port = free_port()
    database = tmp_path / "restart.db"
    with serve(database, port=port) as first:
        url = first.url
        with Client(url, token="") as c:
            c.create_job(
                {"name": "parked", "type": "shell", "command": "true", "worker_tags": ["x"]}
            )
            run_id = c.trigger("parked").run_id
    app = app_for(url)
    async with app.run_test(size=(80, 24)) as pilot:
        runs = app.query_one(RunsTable)
        with serve(database, port=port):
            await until(pilot, lambda: "connected" in text(pilot, "#status"), "connected")
            await until(pilot, lambda: run_id in runs.rows, "the queued run")
        await until(pilot, lambda: "disconnected, retrying" in text(pilot, "#status"), "")
        assert run_id in runs.rows  # the last picture stays while it retries
        with serve(database, port=port), Client(url, token="") as c:
            await until(
                pilot,
                lambda: (
                    text(pilot, "#status").endswith("connected")
                    or (" connected" in text(pilot, "#status"))
                ),
                "connected again",
            )
            second = c.trigger("parked", idempotency_key="after-restart").run_id
            await until(pilot, lambda: second in runs.rows, "a run queued after the restart")
        assert app.is_running


def test_tail_merges_stored_output_with_live_chunks() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def attempt(number: int, stdout: str, chunks: int) -> AttemptOut:
        return AttemptOut(
            number=number,
            worker="w",
            fence=number,
            status="running",
            started_at=now,
            finished_at=None,
            duration=None,
            exit_code=None,
            error=None,
            error_summary=None,
            stdout=stdout,
            stderr="",
            stdout_truncated=False,
            stderr_truncated=False,
            stdout_chunks=chunks,
            stderr_chunks=0,
        )

    def log(event_id: int, chunk: str, seq: int, attempt: int = 2) -> EventOut:
        data = {"stream": "stdout", "chunk": chunk, "seq": seq, "attempt": attempt}
        return EventOut(id=event_id, type="run.log", ts=now, job_id="j", run_id="r", data=data)

    run = RunDetail.model_validate(
        {
            **_run_fields(now),
            "attempts": [attempt(1, "one\n", 1), attempt(2, "a\nb\n", 2)],
        }
    )
    tail, stored = Tail.of(run)
    assert stored == "a\nb\n" and tail.attempt == 2
    assert tail.take(log(1, "one\n", 0, attempt=1)) == ""  # an earlier attempt
    assert tail.take(log(2, "a\n", 0)) == ""  # already in the stored text
    assert tail.take(log(3, "b\n", 1)) == ""
    assert tail.take(log(4, "c\n", 2)) == "c\n"
    assert tail.take(log(4, "c\n", 2)) == ""  # seen before a reconnect
    retrying = EventOut(
        id=5,
        type="run.retrying",
        ts=now,
        job_id="j",
        run_id="r",
        data={"attempt": 2, "error": "Traceback\nValueError: no", "exit_code": 1},
    )
    assert tail.take(retrying) == "── attempt 2 failed: ValueError: no; retrying ──\n"
    assert tail.take(log(6, "again\n", 0, attempt=3)) == "── attempt 3 ──\nagain\n"


def _run_fields(now: datetime) -> dict[str, Any]:
    return {
        "id": "r",
        "namespace": "default",
        "job_id": "j",
        "job_name": "job",
        "trigger": "manual",
        "scheduled_for": None,
        "idempotency_key": "r",
        "parameters": {},
        "status": "running",
        "attempt": 2,
        "max_attempts": 4,
        "worker": "w",
        "queued_at": now,
        "started_at": now,
        "finished_at": None,
        "duration": None,
        "timeout": 60,
        "exit_code": None,
        "result": None,
        "error": None,
        "error_summary": None,
        "output": None,
        "not_before": None,
        "upstream_run_ids": [],
        "cancel_requested": False,
        "cancelled_by": None,
    }


def test_top_is_a_command() -> None:
    result = invoker("http://127.0.0.1:1")("top", "--help")
    assert result.exit_code == 0
    assert "trigger" in result.stdout and "--server" in result.stdout


def test_elapsed_against_timeout_and_waiting_time() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def run(**fields: Any) -> RunOut:
        return RunOut.model_validate({**_run_fields(now), "timeout": 3600, **fields})

    calm = elapsed(run(started_at=now - timedelta(minutes=10)), now)
    assert (calm.plain, calm.style) == ("10m00s/1h00m", "")
    late = elapsed(run(started_at=now - timedelta(minutes=50)), now)
    assert (late.plain, late.style) == ("50m00s/1h00m", "yellow")
    over = elapsed(run(started_at=now - timedelta(hours=2, minutes=5)), now)
    assert (over.plain, over.style) == ("2h05m/1h00m", "red")
    queued = run(status="queued", started_at=None, queued_at=now - timedelta(seconds=42))
    assert elapsed(queued, now).plain == "wait 42s"
    backoff = queued.model_copy(update={"not_before": now + timedelta(seconds=5)})
    assert elapsed(backoff, now).plain == "retry 5s"
    assert span(3 * 86400 + 4 * 3600) == "3d04h"
