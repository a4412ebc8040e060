"""The retention rule on its own (domain/retention.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tickwork.domain.retention import PruneCounts, RetentionPolicy, RunFacts, run_prunable

NOW = datetime(2026, 6, 1, tzinfo=UTC)
POLICY = RetentionPolicy(runs_days=30)


def facts(days: float, status: str = "completed", newer: int = 5, letter: bool = False) -> RunFacts:
    return RunFacts(status, NOW - timedelta(days=days), newer, letter)


@pytest.mark.parametrize(
    ("run", "job_days", "keep_last", "prunable"),
    [
        (facts(31), None, None, True),  # past the server's 30 days
        (facts(29), None, None, False),
        (facts(29), 10.0, None, True),  # the job's own days win, shorter …
        (facts(31), 60.0, None, False),  # … or longer
        (facts(1, newer=3), None, 3, True),  # three newer runs: beyond keep_last=3
        (facts(1, newer=2), None, 3, False),  # among the three newest
        (facts(31, newer=1), None, 3, True),  # too old even though among the newest
        (facts(400, newer=0), None, 1, False),  # the job's latest run, whatever its age
        (facts(400, letter=True), None, None, False),  # an unresolved dead letter
        (facts(400, status="queued"), None, None, False),  # not finished
        (facts(400, status="running"), None, 1, False),
        (facts(31, status="failed"), None, None, True),
        (facts(31, status="cancelled"), None, None, True),
        (facts(31, status="missed"), None, None, True),
    ],
)
def test_which_runs_go(
    run: RunFacts, job_days: float | None, keep_last: int | None, prunable: bool
) -> None:
    before = POLICY.runs_before(NOW, job_days)
    assert run_prunable(run, before=before, keep_last=keep_last) is prunable


def test_cutoffs_follow_the_policy() -> None:
    cut = RetentionPolicy(runs_days=2, output_days=1, audit_days=3, workers_days=4, events_hours=5)
    at = cut.cutoffs(NOW)
    assert (NOW - at.runs, NOW - at.output, NOW - at.audit) == (
        timedelta(days=2),
        timedelta(days=1),
        timedelta(days=3),
    )
    assert (NOW - at.workers, NOW - at.events) == (timedelta(days=4), timedelta(hours=5))


def test_counts_add_up_by_kind() -> None:
    total = PruneCounts(runs=1, output=2) + PruneCounts(runs=3, events=4, pipeline_runs=5)
    assert total.as_dict() == {
        "runs": 4,
        "output": 2,
        "audit": 0,
        "workers": 0,
        "events": 4,
        "pipeline_runs": 5,
    }
    assert total.total == 15
