"""`--follow` when the run ends between the CLI's first look and the stream opening: the
stream has nothing more to say, and the run's stored output is printed instead of nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from tickwork.cli import logs
from tickwork.schemas.runs import EventOut, LogsOut


class RacingClient:
    """Running at the first look; finished by the time the stream opens (it yields nothing,
    as ``follow_events`` does for a finished run)."""

    def __init__(self, events: list[EventOut]) -> None:
        self.looks = 0
        self.events = events

    def get_run(self, run_id: str) -> Any:
        self.looks += 1
        status = "running" if self.looks == 1 else "completed"
        return SimpleNamespace(id=run_id, status=status, duration=0.01, error=None)

    def follow_run(self, run_id: str) -> Iterator[EventOut]:
        yield from self.events

    def run_logs(self, run_id: str) -> LogsOut:
        return LogsOut(run_id=run_id, attempt=1, stdout="from-the-run\n", stderr="warned\n")


def test_a_run_that_ended_before_the_stream_opened_prints_its_stored_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = logs.follow(RacingClient([]), "run-1", as_json=False)  # type: ignore[arg-type]
    out = capsys.readouterr()
    assert code == 0
    assert "from-the-run" in out.out and "warned" in out.err


def test_a_followed_run_prints_its_chunks_once(capsys: pytest.CaptureFixture[str]) -> None:
    chunk = EventOut(
        id=7,
        type="run.log",
        ts=datetime(2026, 12, 2, tzinfo=UTC),
        job_id="job-1",
        run_id="run-1",
        data={"stream": "stdout", "chunk": "live-chunk\n", "attempt": 1},
    )
    code = logs.follow(RacingClient([chunk]), "run-1", as_json=False)  # type: ignore[arg-type]
    out = capsys.readouterr()
    assert code == 0
    assert out.out.count("live-chunk") == 1 and "from-the-run" not in out.out
