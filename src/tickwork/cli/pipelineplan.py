"""The pipelines half of ``tickwork apply`` (a file's ``pipelines:``): what to create, replace,
leave alone and, with ``--prune``, delete.

A pipeline compares as its whole create body (tasks included, with the defaults the file
leaves out filled in), so one the file created compares equal when read back; ``enabled``
compares only when the file sets it (pausing is an operator's act). Pipelines are applied
after the calendars (they may name one) and the jobs; a pipeline's task jobs are never in the
jobs' plan (they change only through their pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Console

from tickwork.cli.common import err
from tickwork.client import Client, NotFoundError
from tickwork.schemas.pipelines import PipelineIn, PipelineOut, pipeline_document

Action = Literal["create", "update", "unchanged", "delete"]
MARKS = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "unchanged": ("=", "dim"),
    "delete": ("-", "red"),
}


@dataclass(frozen=True, slots=True)
class PipelineStep:
    action: Action
    name: str
    body: dict[str, Any] | None = None
    changed: tuple[str, ...] = ()


def plan_pipelines(
    client: Client, declared: list[PipelineIn], *, prune: bool
) -> list[PipelineStep]:
    """Create the pipelines the server lacks, replace those that differ, leave the rest;
    with ``prune``, delete the namespace's pipelines the file does not declare."""
    steps: list[PipelineStep] = []
    for pipeline in declared:
        body = pipeline.model_dump(mode="json", exclude_unset=True)
        try:
            current = client.get_pipeline(pipeline.name)
        except NotFoundError:
            steps.append(PipelineStep("create", pipeline.name, body))
            continue
        steps.append(_compare(pipeline, body, current))
    if prune:
        names = {p.name for p in declared}
        cursor = None
        while True:
            page = client.list_pipelines(limit=200, cursor=cursor)
            steps += [PipelineStep("delete", p.name) for p in page.items if p.name not in names]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    return steps


def _compare(pipeline: PipelineIn, body: dict[str, Any], current: PipelineOut) -> PipelineStep:
    have = pipeline_document(current)
    want = pipeline.model_dump(mode="json", exclude={"namespace"})
    if "enabled" not in pipeline.model_fields_set:
        want["enabled"] = body["enabled"] = current.enabled
    changed = tuple(sorted(f for f in want if have.get(f) != want[f]))
    return PipelineStep("update" if changed else "unchanged", pipeline.name, body, changed)


def show_pipeline_plan(console: Console, steps: list[PipelineStep]) -> None:
    for step in steps:
        mark, style = MARKS[step.action]
        fields = f"  ({', '.join(step.changed)})" if step.changed else ""
        console.print(
            f"[{style}]{mark} {step.action:<9} pipeline {step.name}{fields}[/]", soft_wrap=True
        )


def apply_pipelines(client: Client, steps: list[PipelineStep], *, quiet: bool) -> None:
    for step in steps:
        if step.action == "create":
            client.create_pipeline(step.body or {})
        elif step.action == "update":
            client.replace_pipeline(step.name, step.body or {})
        elif step.action == "delete":
            client.delete_pipeline(step.name)
        else:
            continue
        if not quiet:
            err().print(f"[{MARKS[step.action][1]}]{step.action}d[/] pipeline {step.name}")
