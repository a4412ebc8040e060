"""`tickwork pipelines list|show|trigger|runs|cancel|retry|pause|resume|delete`.

Pipelines are declared in apply files (``pipelines:`` beside ``jobs:``); these commands watch
and drive them. ``show`` takes a pipeline (name or id) or a pipeline run (``prun-…``).
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from tickwork.cli import render
from tickwork.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    JsonOpt,
    ServerOpt,
    TokenOpt,
    YesOpt,
    confirm,
    err,
    fail,
    out,
    print_json,
    session,
)
from tickwork.client import Client
from tickwork.schemas.pipelines import PipelineOut, PipelineRunOut, PipelineRunSummary

app = typer.Typer(help="List, inspect, trigger, pause and delete pipelines; cancel and retry runs.")

RefArg = Annotated[str, typer.Argument(help="Pipeline name or id.", show_default=False)]
RunArg = Annotated[str, typer.Argument(help="Pipeline run id (prun-…).", show_default=False)]
FINAL = frozenset({"completed", "failed", "cancelled"})
POLL = 1.0


@app.command("list")
def list_(
    q: Annotated[str | None, typer.Option(help="Name contains.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The namespace's pipelines with their schedule, tasks and latest run."""
    with session(server, token) as client:
        page = client.list_pipelines(q=q, limit=limit)
    if as_json:
        print_json(page)
        return
    table = Table("name", "schedule", "tasks", "enabled", "last run", "status", "next", box=None)
    for p in page.items:
        last = p.last_run
        table.add_row(
            p.name,
            p.schedule or "-",
            str(len(p.tasks)),
            "yes" if p.enabled else "[yellow]paused[/]",
            last.id if last else "-",
            render.status(last.status if last else None),
            render.when(p.next_run),
        )
    out().print(table)
    err().print(f"{len(page.items)} of {page.total} pipeline(s)")


@app.command("show")
def show(
    ref: RefArg, server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """A pipeline (its tasks and their edges), or a pipeline run (``prun-…``: its tasks'
    states, runs and timings)."""
    with session(server, token) as client:
        found: PipelineOut | PipelineRunOut = (
            client.get_pipeline_run(ref) if ref.startswith("prun-") else client.get_pipeline(ref)
        )
    if as_json:
        print_json(found)
    elif isinstance(found, PipelineRunOut):
        out().print(run_table(found))
    else:
        out().print(pipeline_table(found))


@app.command("trigger")
def trigger(
    ref: RefArg,
    params: Annotated[
        str | None,
        typer.Option("--params", help='Per task: a JSON object {"task": {"key": value}}.'),
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="The same key returns the same pipeline run.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Then watch its tasks until it ends.")
    ] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A pipeline run now. With --follow, its tasks' changes are shown as they happen and
    the exit status is the run's (0 completed, 1 otherwise)."""
    parameters = _parameters(params)
    with session(server, token) as client:
        run = client.trigger_pipeline(ref, parameters, idempotency_key=idempotency_key)
        if not as_json:
            note = "" if run.created else " (an existing pipeline run was returned)"
            err().print(f"{run.status} {run.id}{note}")
        if follow:
            raise typer.Exit(watch(client, run.id, as_json=as_json))
    if as_json:
        print_json(run)
    else:
        out().print(run.id)


def watch(client: Client, run_id: str, *, as_json: bool = False) -> int:
    """Poll a pipeline run until it ends, printing each task's change; 0 if it completed."""
    seen: dict[str, str] = {}
    while True:
        run = client.get_pipeline_run(run_id)
        for t in run.tasks:
            if seen.get(t.name) != t.status:
                seen[t.name] = t.status
                if not as_json:
                    why = f"  {t.reason}" if t.reason else ""
                    err().print(f"{t.name:<20} ", render.status(t.status), why, sep="")
        if run.status in FINAL:
            if as_json:
                print_json(run)
            else:
                err().print(f"pipeline run {run.id} ", render.status(run.status), sep="")
            return 0 if run.status == "completed" else EXIT_FAILED
        time.sleep(POLL)


@app.command("runs")
def runs(
    ref: RefArg,
    status: Annotated[str | None, typer.Option(help="Only runs with this status.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 20,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A pipeline's runs, newest first, with their tasks counted by status."""
    with session(server, token) as client:
        page = client.pipeline_runs(ref, status=status, limit=limit)
    if as_json:
        print_json(page)
        return
    out().print(runs_table(page.items))
    err().print(f"{len(page.items)} of {page.total} run(s)")


@app.command("cancel")
def cancel(run_id: RunArg, server: ServerOpt = None, token: TokenOpt = None) -> None:
    """Cancel a pipeline run: its queued and running tasks stop, the rest are skipped."""
    with session(server, token) as client:
        run = client.cancel_pipeline_run(run_id)
    err().print(f"{run.id} ", render.status(run.status), sep="")


@app.command("retry")
def retry(
    run_id: RunArg,
    follow: Annotated[bool, typer.Option("--follow", help="Then watch it until it ends.")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Run a failed or cancelled pipeline run again from its failed tasks."""
    with session(server, token) as client:
        run = client.retry_pipeline_run(run_id)
        err().print(f"{run.id} ", render.status(run.status), sep="")
        if follow:
            raise typer.Exit(watch(client, run.id))


@app.command("pause")
def pause(ref: RefArg, server: ServerOpt = None, token: TokenOpt = None) -> None:
    """Stop scheduling the pipeline (runs already made go on)."""
    with session(server, token) as client:
        p = client.pause_pipeline(ref)
    err().print(f"paused {p.name}")


@app.command("resume")
def resume(ref: RefArg, server: ServerOpt = None, token: TokenOpt = None) -> None:
    """Schedule the pipeline again from now."""
    with session(server, token) as client:
        p = client.resume_pipeline(ref)
    err().print(f"resumed {p.name}; next run {render.when(p.next_run)}")


@app.command("delete")
def delete(
    ref: RefArg,
    force: Annotated[
        bool, typer.Option("--force", help="Cancel an active run instead of refusing.")
    ] = False,
    yes: YesOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete a pipeline with its task jobs and all their runs."""
    confirm(f"Delete pipeline {ref} with its task jobs and runs?", yes=yes)
    with session(server, token) as client:
        client.delete_pipeline(ref, force=force)
    err().print(f"deleted pipeline {ref}")


# --- rendering ---------------------------------------------------------------------------


def _edges(depends_on: list[str | dict[str, str]]) -> str:
    shown = [d if isinstance(d, str) else f"{d['job']} ({d['on']})" for d in depends_on]
    return ", ".join(shown) or "-"


def pipeline_table(p: PipelineOut) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_row("[bold]pipeline[/]", f"{p.name} ({p.id}, {p.namespace})")
    grid.add_row("schedule", f"{p.schedule or '-'} {p.timezone}")
    grid.add_row("calendar", f"{p.calendar} ({p.calendar_policy})" if p.calendar else "-")
    grid.add_row("policies", f"on_overlap={p.on_overlap} catchup={p.catchup}")
    grid.add_row("enabled", "yes" if p.enabled else "paused")
    grid.add_row("next run", render.when(p.next_run))
    if p.last_run:
        grid.add_row("last run", f"{p.last_run.id} {p.last_run.status}")
    tasks = Table("task", "job", "type", "depends on", "rule", box=None)
    for t in p.tasks:
        kind = t.model_dump()["type"]
        tasks.add_row(t.name, t.job_name, kind, _edges(t.depends_on), t.trigger_rule)
    grid.add_row("tasks", tasks)
    return grid


def run_table(run: PipelineRunOut) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_row("[bold]pipeline run[/]", f"{run.id} of {run.pipeline_name}")
    grid.add_row("status", render.status(run.status))
    grid.add_row("trigger", run.trigger)
    grid.add_row("started", render.when(run.started_at))
    grid.add_row("duration", render.seconds(run.duration))
    if run.error:
        grid.add_row("error", run.error)
    tasks = Table("task", "status", "run", "attempt", "duration", "why", box=None)
    for t in run.tasks:
        tasks.add_row(
            t.name,
            render.status(t.status),
            t.run_id or "-",
            str(t.attempt) if t.attempt is not None else "-",
            render.seconds(t.duration),
            t.reason or "",
        )
    grid.add_row("tasks", tasks)
    return grid


def runs_table(items: list[PipelineRunSummary]) -> Table:
    table = Table("id", "status", "trigger", "queued", "duration", "tasks", box=None)
    for r in items:
        counts = " ".join(f"{k}:{v}" for k, v in sorted(r.task_counts.items()))
        table.add_row(
            r.id,
            render.status(r.status),
            r.trigger,
            render.when(r.queued_at),
            render.seconds(r.duration),
            counts,
        )
    return table


def _parameters(raw: str | None) -> dict[str, dict[str, Any]]:
    if not raw:
        return {}
    try:
        values = json.loads(raw)
    except ValueError as exc:
        fail(f"--params is not JSON: {exc}", EXIT_BAD_INPUT)
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        fail('--params must be {"task": {...}, ...}', EXIT_BAD_INPUT)
    return values
