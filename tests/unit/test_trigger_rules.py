"""Trigger rules: which final states meet which condition, and when a dependent fires."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import Dependency, validate_spec
from tickwork.domain.trigger_rules import (
    ERROR_LIMIT,
    Edge,
    UpstreamRun,
    decide_fire,
    fires_dependents,
    holds,
)
from tickwork.testing import job_spec

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "success", "failure", "done"),
    [
        ("completed", True, False, True),
        ("failed", False, True, True),
        ("missed", False, True, True),
        ("cancelled", False, False, True),
        ("queued", False, False, False),  # an attempt to be retried ends nothing
        ("running", False, False, False),
    ],
)
def test_which_final_states_meet_which_condition(
    status: str, success: bool, failure: bool, done: bool
) -> None:
    assert (holds("success", status), holds("failure", status), holds("done", status)) == (
        success,
        failure,
        done,
    )


def run(job: str, status: str) -> UpstreamRun:
    return UpstreamRun(job_id=job, run_id=f"run-{job}-{status}", job=job, status=status)


def latest(*runs: UpstreamRun) -> dict[str, UpstreamRun]:
    return {r.job_id: r for r in runs}


A_OK, A_FAIL, A_CANCEL = run("a", "completed"), run("a", "failed"), run("a", "cancelled")
B_OK, B_FAIL, B_MISSED = run("b", "completed"), run("b", "failed"), run("b", "missed")

CASES = [
    # one edge, each condition against each outcome
    ([Edge("a")], "all", [A_OK], "a", ["a"]),
    ([Edge("a")], "all", [A_FAIL], "a", None),
    ([Edge("a", "failure")], "all", [A_FAIL], "a", ["a"]),
    ([Edge("a", "failure")], "all", [A_OK], "a", None),
    ([Edge("a", "failure")], "all", [A_CANCEL], "a", None),
    ([Edge("a", "done")], "all", [A_OK], "a", ["a"]),
    ([Edge("a", "done")], "all", [A_FAIL], "a", ["a"]),
    ([Edge("a", "done")], "all", [A_CANCEL], "a", ["a"]),
    ([Edge("a", "success")], "any", [A_CANCEL], "a", None),
    # all: every edge must hold; the other upstream has not finished since → wait
    ([Edge("a"), Edge("b")], "all", [A_OK], "a", None),
    ([Edge("a"), Edge("b")], "all", [A_OK, B_OK], "b", ["a", "b"]),
    ([Edge("a"), Edge("b")], "all", [A_OK, B_FAIL], "b", None),
    # any: one is enough, and the run gets only the upstream runs that hold
    ([Edge("a"), Edge("b")], "any", [A_OK], "a", ["a"]),
    ([Edge("a"), Edge("b")], "any", [A_OK, B_FAIL], "a", ["a"]),
    ([Edge("a"), Edge("b")], "any", [A_FAIL, B_FAIL], "b", None),
    # mixed conditions
    ([Edge("a"), Edge("b", "failure")], "all", [A_OK, B_MISSED], "b", ["a", "b"]),
    ([Edge("a"), Edge("b", "failure")], "all", [A_OK, B_OK], "b", None),
    ([Edge("a", "failure"), Edge("b", "failure")], "any", [A_OK, B_FAIL], "b", ["b"]),
    ([Edge("a", "done"), Edge("b", "failure")], "all", [A_CANCEL, B_FAIL], "a", ["a", "b"]),
    # the finishing upstream's own edge must hold: an old failure of b is not re-fired by a
    # finish of a that meets no condition
    ([Edge("a"), Edge("b", "failure")], "any", [A_FAIL, B_FAIL], "a", None),
    # no edges: nothing fires
    ([], "any", [A_OK], "a", None),
]


@pytest.mark.parametrize(("edges", "rule", "runs", "finished", "fired"), CASES)
def test_decide_fire_table(
    edges: list[Edge],
    rule: str,
    runs: list[UpstreamRun],
    finished: str,
    fired: list[str] | None,
) -> None:
    got = decide_fire(edges, rule, latest(*runs), finished=finished)  # type: ignore[arg-type]
    assert (None if got is None else [r.job_id for r in got]) == fired


def test_the_latest_outcome_counts_an_upstream_that_fails_then_succeeds() -> None:
    edges = [Edge("a"), Edge("b")]
    # b failed first: with all-success edges that waits …
    assert decide_fire(edges, "all", latest(A_OK, B_FAIL), finished="b") is None
    # … then b is retried and succeeds: its latest final run is the success, and it fires
    assert decide_fire(edges, "all", latest(A_OK, B_OK), finished="b") == (A_OK, B_OK)
    # the other way round, an on-failure edge no longer holds once b succeeded again
    assert decide_fire([Edge("b", "failure")], "all", latest(B_OK), finished="b") is None


def test_repeats_each_finish_of_an_any_upstream_fires_on_its_own() -> None:
    # since the dependent's latest run only the newest finish is in `latest`; each one that
    # holds fires (the store passes what came after the dependent's previous run)
    first = decide_fire([Edge("a"), Edge("b")], "any", latest(A_OK), finished="a")
    second = decide_fire([Edge("a"), Edge("b")], "any", latest(B_OK), finished="b")
    assert first == (A_OK,) and second == (B_OK,)


def test_the_context_a_fired_run_gets() -> None:
    failed = UpstreamRun("job-a", "run-1", "extract", "failed", "boom\nValueError: x", "x")
    assert failed.as_context() == {
        "run_id": "run-1",
        "job": "extract",
        "status": "failed",
        "error": "boom\nValueError: x",
        "error_summary": "x",
    }


def test_spec_validation_of_conditions_and_rules() -> None:
    ok = job_spec("d", depends_on=[{"job": "a", "on": "failure"}], trigger_rule="any")
    assert validate_spec(ok, now=T0).depends_on == (Dependency("a", "failure"),)
    with pytest.raises(ValidationError) as bad_on:
        validate_spec(job_spec("d", depends_on=[Dependency("a", "maybe")]), now=T0)  # type: ignore[arg-type]
    assert bad_on.value.field == "depends_on.0.on"
    with pytest.raises(ValidationError) as twice:
        validate_spec(job_spec("d", depends_on=["a", {"job": "a", "on": "done"}]), now=T0)
    assert twice.value.field == "depends_on"
    with pytest.raises(ValidationError) as rule:
        validate_spec(job_spec("d", trigger_rule="most"), now=T0)
    assert rule.value.field == "trigger_rule"


@pytest.mark.parametrize(
    ("status", "cancelled_by", "fires"),
    [
        ("completed", None, True),
        ("failed", None, True),
        ("missed", None, True),
        ("cancelled", "ops-token", True),
        ("cancelled", "system", True),
        ("cancelled", "cancel_previous", False),  # superseded: the newer run ends instead
        ("queued", None, False),  # to be retried
        ("running", None, False),
    ],
)
def test_which_ends_dependents_hear_of(status: str, cancelled_by: str | None, fires: bool) -> None:
    assert fires_dependents(status, cancelled_by) is fires


def test_a_long_error_reaches_the_fired_run_by_its_end() -> None:
    error = "x" * ERROR_LIMIT + "ValueError: the last line"
    shown = UpstreamRun("a", "run-1", "a", "failed", error).as_context()["error"]
    assert len(shown) == ERROR_LIMIT and shown.endswith("ValueError: the last line")
