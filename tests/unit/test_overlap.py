"""on_overlap, as a table: the store only applies what this decides."""

from __future__ import annotations

import pytest

from tickwork.domain.overlap import (
    Queue,
    Skip,
    Supersede,
    at_tick,
    decide_overlap,
    decided_at_tick,
    needs_active,
    runs_alongside,
)


@pytest.mark.parametrize(
    ("policy", "active", "expected"),
    [
        ("skip", None, Queue()),
        ("skip", "run-a", Skip("run-a")),
        ("queue", None, Queue()),
        ("queue", "run-a", Queue()),
        ("allow", "run-a", Queue()),
        ("cancel_previous", None, Queue()),
        ("cancel_previous", "run-a", Supersede()),
    ],
)
def test_decide_overlap(policy: str, active: str | None, expected: object) -> None:
    assert decide_overlap(policy, active) == expected


def test_a_skip_says_why_and_names_the_active_run() -> None:
    decision = decide_overlap("skip", "run-a")
    assert isinstance(decision, Skip)
    assert decision.active == "run-a" and "on_overlap=skip" in decision.reason


@pytest.mark.parametrize(
    ("policy", "alongside"),
    [("allow", True), ("skip", False), ("queue", False), ("cancel_previous", False)],
)
def test_only_allow_runs_alongside_the_concurrency_limit(policy: str, alongside: bool) -> None:
    assert runs_alongside(policy) is alongside


@pytest.mark.parametrize(
    ("on_overlap", "looks"),
    [("allow", False), ("queue", False), ("skip", True), ("cancel_previous", True)],
)
def test_only_skip_and_cancel_previous_read_the_active_runs(on_overlap: str, looks: bool) -> None:
    """A trigger of an allow/queue job neither locks the job nor reads its queue."""
    assert needs_active(on_overlap) is looks
    if not looks:  # and what it would have read cannot change the decision
        assert decide_overlap(on_overlap, "run-old") == decide_overlap(on_overlap, None)


@pytest.mark.parametrize(
    ("policy", "earlier", "expected"),
    [
        ("skip", None, Queue()),
        ("skip", "run-old", Skip("run-old")),
        ("cancel_previous", None, Queue()),
        ("cancel_previous", "run-old", Supersede()),
        ("allow", "run-old", Queue()),
        ("queue", "run-old", Queue()),
    ],
)
def test_a_run_written_ahead_is_decided_at_its_tick_as_a_new_run_then(
    policy: str, earlier: str | None, expected: object
) -> None:
    assert at_tick(policy, earlier) == expected


@pytest.mark.parametrize(
    ("policy", "decided"),
    [("skip", True), ("cancel_previous", True), ("allow", False), ("queue", False)],
)
def test_which_runs_written_ahead_wait_for_their_tick(policy: str, decided: bool) -> None:
    assert decided_at_tick(policy) is decided
