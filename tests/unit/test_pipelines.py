"""A pipeline run's progress (domain/pipelines.py ``advance``): what to queue, what to skip
and why, and how the run ends, for a table of graphs and task states; and the definition's
checks, each naming the field at fault."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import Dependency
from tickwork.domain.pipelines import (
    PipelineSpec,
    TaskNode,
    TaskSpec,
    TaskState,
    advance,
    validate_pipeline,
)
from tickwork.testing import job_spec

NOW = datetime(2026, 12, 21, 12, tzinfo=UTC)


def node(name: str, *deps: str | tuple[str, str], rule: str = "any") -> TaskNode:
    edges = tuple(Dependency(d) if isinstance(d, str) else Dependency(*d) for d in deps)
    return TaskNode(name, edges, rule if rule == "any" else "all")  # type: ignore[arg-type]


def all_(name: str, *deps: str | tuple[str, str]) -> TaskNode:
    return node(name, *deps, rule="all")


# extract → transform → load, and notify on extract's failure
ETL = [
    all_("extract"),
    all_("transform", "extract"),
    all_("load", "transform"),
    all_("notify", ("extract", "failure")),
]


def states(**given: str) -> dict[str, TaskState]:
    out = {}
    for name, status in given.items():
        if status.startswith("skipped|"):
            _, reason, cause = status.split("|")
            out[name] = TaskState("skipped", reason, cause == "failure")
        else:
            out[name] = TaskState(status)  # type: ignore[arg-type]
    return out


CASES: list[tuple[str, list[TaskNode], dict[str, str], dict[str, Any]]] = [
    (
        "a new run queues its roots",
        ETL,
        {"extract": "pending", "transform": "pending", "load": "pending", "notify": "pending"},
        {"queue": ["extract"], "skip": {}, "status": None},
    ),
    (
        "success queues the next, and skips the on-failure handler by design",
        ETL,
        {"extract": "completed", "transform": "pending", "load": "pending", "notify": "pending"},
        {
            "queue": ["transform"],
            "skip": {"notify": ("upstream succeeded: extract", False)},
            "status": None,
        },
    ),
    (
        "failure skips what needed success, down the line, and queues the handler",
        ETL,
        {"extract": "failed", "transform": "pending", "load": "pending", "notify": "pending"},
        {
            "queue": ["notify"],
            "skip": {
                "transform": ("upstream failed: extract", True),
                "load": ("upstream skipped: transform", True),
            },
            "status": None,
        },
    ),
    (
        "a failure that stopped the leaves fails the run, though its handler ran",
        ETL,
        {
            "extract": "failed",
            "transform": "skipped|upstream failed: extract|failure",
            "load": "skipped|upstream skipped: transform|failure",
            "notify": "completed",
        },
        {"queue": [], "skip": {}, "status": "failed", "error": "failed: extract"},
    ),
    (
        "every task done and the handler skipped by design: completed",
        ETL,
        {
            "extract": "completed",
            "transform": "completed",
            "load": "completed",
            "notify": "skipped|upstream succeeded: extract|rule",
        },
        {"queue": [], "skip": {}, "status": "completed"},
    ),
    (
        "the last task completing ends the run in the same step",
        [all_("a"), all_("b", "a")],
        {"a": "completed", "b": "completed"},
        {"queue": [], "skip": {}, "status": "completed"},
    ),
    (
        "a handler that took the failure over (the only leaf) completes the run",
        [all_("try"), all_("recover", ("try", "failure"))],
        {"try": "failed", "recover": "completed"},
        {"queue": [], "skip": {}, "status": "completed"},
    ),
    (
        "a failed handler fails the run",
        [all_("try"), all_("recover", ("try", "failure"))],
        {"try": "failed", "recover": "failed"},
        {"queue": [], "skip": {}, "status": "failed", "error": "failed: try, recover"},
    ),
    (
        "done holds whatever the upstream's end, skipped too",
        [all_("a"), all_("b", "a"), all_("cleanup", ("b", "done"))],
        {"a": "failed", "b": "pending", "cleanup": "pending"},
        {"queue": ["cleanup"], "skip": {"b": ("upstream failed: a", True)}, "status": None},
    ),
    (
        "all waits while one upstream is still running",
        [all_("a"), all_("b"), all_("c", "a", "b")],
        {"a": "completed", "b": "running", "c": "pending"},
        {"queue": [], "skip": {}, "status": None},
    ),
    (
        "all skips as soon as one edge cannot hold",
        [all_("a"), all_("b"), all_("c", "a", "b")],
        {"a": "cancelled", "b": "running", "c": "pending"},
        {"queue": [], "skip": {"c": ("upstream cancelled: a", True)}, "status": None},
    ),
    (
        "any queues on the first edge that holds",
        [all_("a"), all_("b"), node("c", "a", "b")],
        {"a": "running", "b": "completed", "c": "pending"},
        {"queue": ["c"], "skip": {}, "status": None},
    ),
    (
        "any waits while an edge may still hold",
        [all_("a"), all_("b"), node("c", "a", "b")],
        {"a": "failed", "b": "running", "c": "pending"},
        {"queue": [], "skip": {}, "status": None},
    ),
    (
        "any queues on a later edge though an earlier one broke",
        [all_("a"), all_("b"), node("c", "a", "b")],
        {"a": "failed", "b": "completed", "c": "pending"},
        {"queue": ["c"], "skip": {}, "status": None},
    ),
    (
        "any with every edge broken is skipped with each reason",
        [all_("a"), all_("b"), node("c", ("a", "failure"), "b")],
        {"a": "completed", "b": "failed", "c": "pending"},
        {
            "queue": [],
            "skip": {
                "c": (
                    "no upstream condition can hold (upstream succeeded: a; upstream failed: b)",
                    True,
                )
            },
            "status": "failed",
            "error": "failed: b",
        },
    ),
    (
        "a task cancelled by itself skips its dependents and fails the run",
        [all_("a"), all_("b", "a")],
        {"a": "cancelled", "b": "pending"},
        {
            "queue": [],
            "skip": {"b": ("upstream cancelled: a", True)},
            "status": "failed",
            "error": "failed: a",
        },
    ),
]


@pytest.mark.parametrize(
    ("graph", "given", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_advance(graph: list[TaskNode], given: dict[str, str], want: dict[str, Any]) -> None:
    names = {n.name for n in graph}
    step = advance(graph, {k: v for k, v in states(**given).items() if k in names})
    assert [name for name, _ in step.queue] == want["queue"]
    assert {k: (v.reason, v.by_failure) for k, v in step.skip.items()} == want["skip"]
    assert step.status == want["status"]
    assert step.error == want.get("error")


def test_queued_tasks_name_the_upstream_whose_edges_held() -> None:
    graph = [all_("a"), all_("b"), node("c", "a", ("b", "failure"))]
    step = advance(graph, states(a="completed", b="failed", c="pending"))
    assert step.queue == [("c", ["a", "b"])]


def spec(*tasks: tuple[str, list[Any]], name: str = "etl") -> PipelineSpec:
    return PipelineSpec(
        name=name,
        tasks=tuple(
            TaskSpec(
                TaskNode(t, tuple(Dependency(d) if isinstance(d, str) else d for d in deps)),
                job_spec(f"{name}.{t}"),
            )
            for t, deps in tasks
        ),
    )


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        (spec(("a", []), ("b", ["nope"])), "tasks[1].depends_on", "no task 'nope'"),
        (spec(("a", ["b"]), ("b", ["a"])), "tasks[0].depends_on", "a → b → a"),
        (spec(("a", ["a"])), "tasks[0].depends_on", "depends on itself"),
        (spec(("a", []), ("a", [])), "tasks[1].name", "defined twice"),
        (spec(("a", []), ("b", ["a", "a"])), "tasks[1].depends_on", "the same task twice"),
        (spec(("a.b", [])), "tasks[0].name", "letters, digits"),
        (spec(("a", []), name="x" * 199), "tasks[0].name", "not a valid job name"),
        (spec(), "tasks", "at least one task"),
        (spec(("a", []), name="pipe-x"), "name", ""),
    ],
)
def test_definitions_refused_name_the_field(bad: PipelineSpec, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_pipeline(bad, now=NOW)
    assert caught.value.field == field
    assert words in caught.value.reason


def test_a_valid_definition_passes() -> None:
    ok = spec(
        ("extract", []), ("load", ["extract"]), ("notify", [Dependency("extract", "failure")])
    )
    assert validate_pipeline(ok, now=NOW) is ok
