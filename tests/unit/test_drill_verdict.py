"""The failover drill's invariant checker (benchmarks/drill/verdict.py): it must catch a
missed, doubled or off-phase tick and a lost, doubled or phantom run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from benchmarks.drill.verdict import RunRow, check_runs, check_ticks, expected_ticks

T0 = datetime(2026, 12, 2, 4, 0, 0, 500_000, tzinfo=UTC)
S = timedelta(seconds=1)


def rows(job: str, *offsets: float, status: str = "completed") -> list[RunRow]:
    return [
        RunRow(job, f"run-{job}-{i}", T0 + timedelta(seconds=o), status)
        for i, o in enumerate(offsets)
    ]


def test_expected_ticks_include_both_ends() -> None:
    assert expected_ticks(T0, S, T0 + 2 * S) == [T0, T0 + S, T0 + 2 * S]
    assert expected_ticks(T0, S, T0 - S) == []


def test_a_clean_run_passes() -> None:
    runs = rows("a", 0, 1, 2, 3)
    ticks = check_ticks("a", runs, first=T0, every=S, until=T0 + 3 * S)
    assert ticks.ok and ticks.expected == 4
    verdict = check_runs(runs, [r.run_id for r in runs])
    assert verdict.ok and verdict.runs == 4


def test_ticks_missed_doubled_and_off_phase_are_named() -> None:
    runs = [*rows("a", 0, 2, 2, 3.5), *rows("b", 1)]
    ticks = check_ticks("a", runs, first=T0, every=S, until=T0 + 3 * S)
    assert ticks.missed == [T0 + S, T0 + 3 * S]
    assert ticks.doubled == [T0 + 2 * S]
    assert ticks.off_schedule == [T0 + timedelta(seconds=3.5)]
    assert not ticks.ok
    # a tick after ``until`` (its time had not come when the job was paused) is no fault
    assert check_ticks("a", rows("a", 0, 1, 2), first=T0, every=S, until=T0 + S).ok


def test_runs_lost_doubled_unexecuted_and_unknown_are_named() -> None:
    runs = [*rows("a", 0, 1, 2), *rows("b", 0, status="failed")]
    executed = ["run-a-0", "run-a-0", "run-a-1", "run-b-0", "run-zz"]
    verdict = check_runs(runs, executed)
    assert verdict.lost == {"run-b-0": "failed"}
    assert verdict.doubled == {"run-a-0": 2}
    assert verdict.unexecuted == ["run-a-2"]
    assert verdict.unknown == ["run-zz"]
    assert not verdict.ok
