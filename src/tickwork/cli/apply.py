"""`tickwork apply -f jobs.yaml | --module mypkg.jobs [--prune] [--dry-run] [--yes]`: jobs as code.

Reads the declared jobs (a YAML/JSON file, or the ``@tickwork.job`` functions of a module)
and a file's business calendars (``calendars:``, applied first so jobs may name them),
checks all of them locally, compares them with the server, prints the diff and then makes the
server match (asking first on a terminal). How the diff is computed and ordered: ``plan.py``.
A second apply of the same jobs finds nothing to change and sends no write.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from tickwork.cli.alertfile import (
    AlertFileError,
    AlertSections,
    AlertStep,
    plan_alerts,
    read_sections,
)
from tickwork.cli.calendars import (
    CalendarStep,
    apply_calendars,
    plan_calendars,
    show_calendar_plan,
)
from tickwork.cli.common import (
    EXIT_BAD_INPUT,
    Chosen,
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
from tickwork.cli.jobfile import (
    ApplyFile,
    JobFileError,
    file_namespace,
    read_apply_file,
    validate_jobs,
)
from tickwork.cli.pipelineplan import (
    PipelineStep,
    apply_pipelines,
    plan_pipelines,
    show_pipeline_plan,
)
from tickwork.cli.plan import Plan, PlanError, PruneScope, Step, fetch_state, make_plan
from tickwork.client import Client
from tickwork.decorators import registered_jobs

MARKS = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "unchanged": ("=", "dim"),
    "delete": ("-", "red"),
}


def apply(
    file: Annotated[
        str | None, typer.Option("--file", "-f", help="YAML/JSON file of jobs (- = stdin).")
    ] = None,
    module: Annotated[
        str | None,
        typer.Option("--module", "-m", help="Import this module; apply its @tickwork.job jobs."),
    ] = None,
    path: Annotated[
        list[str] | None,
        typer.Option(help="Directory to import --module from (repeatable; . is always on it)."),
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Delete jobs no longer declared: with -f every job not in the file (except "
            "module-owned ones), with --module those tagged module:<name>.",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diff only.")] = False,
    yes: YesOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make the server's jobs match a file or a module: print the diff, then apply it.

    A file's ``namespace:`` (beside ``jobs:``, or on its jobs: one per file) is where it
    applies; else ``tickwork --namespace``, else ``default``. Giving both, differently, is
    refused."""
    declared, scope, sections = _declared(file, module, path or [])
    jobs = declared.jobs
    beside = declared.data.get("namespace") if isinstance(declared.data, dict) else None
    namespace = (
        file_namespace(jobs)
        or next((c.namespace for c in declared.calendars if c.namespace), None)
        or next((p.namespace for p in declared.pipelines if p.namespace), None)
        or (beside if sections else None)
    )
    if namespace and Chosen.namespace and namespace != Chosen.namespace:
        fail(
            f"the jobs are in namespace {namespace!r} but --namespace/TICKWORK_NAMESPACE "
            f"says {Chosen.namespace!r}",
            EXIT_BAD_INPUT,
        )
    with session(server, token, namespace=namespace) as client:
        calendars = plan_calendars(client, declared.calendars)
        state = fetch_state(client, jobs, prune=prune)
        try:
            plan = make_plan(jobs, state, prune=prune, scope=scope)
        except PlanError as exc:
            _invalid("the jobs cannot be applied", exc.problems)
        alerts = _alert_plan(client, sections)
        pipelines = plan_pipelines(client, declared.pipelines, prune=prune and file is not None)
        if not as_json:
            show_calendar_plan(out(), calendars)
            show_plan(out(), plan)
            show_pipeline_plan(out(), pipelines)
            show_alerts(out(), alerts)
        applied = _run(
            client,
            plan,
            calendars,
            dry_run=dry_run,
            yes=yes,
            quiet=as_json,
            alerts=alerts,
            pipelines=pipelines,
        )
    if as_json:
        listed = {
            action: [c.name for c in calendars if c.action == action]
            for action in ("create", "update", "unchanged")
        }
        steps = [{"action": a.action, "kind": a.kind, "name": a.name} for a in alerts]
        piped = {
            action: [p.name for p in pipelines if p.action == action]
            for action in ("create", "update", "unchanged", "delete")
        }
        print_json(
            {
                **plan.as_json(),
                "calendars": listed,
                "pipelines": piped,
                "alerts": steps,
                "applied": applied,
            }
        )


def _alert_plan(client: Client, sections: AlertSections) -> list[AlertStep]:
    if not sections:
        return []
    have = client.list_alert_channels().channels
    rules = client.list_alert_rules().rules
    return plan_alerts(sections, have, rules)


def show_alerts(console: Console, steps: list[AlertStep]) -> None:
    for step in steps:
        mark, style = MARKS[step.action]
        console.print(
            f"[{style}]{mark} {step.action:<9} {step.kind} {step.name}[/]", soft_wrap=True
        )


def _declared(
    file: str | None, module: str | None, paths: list[str]
) -> tuple[ApplyFile, PruneScope, AlertSections]:
    """The declared jobs and calendars (with the loaded document), their prune scope and the
    file's alert sections."""
    if (file is None) == (module is None):
        fail("give either -f FILE or --module NAME", EXIT_BAD_INPUT)
    try:
        if file is not None:
            declared = read_apply_file(file)
            return declared, PruneScope(), read_sections(declared.data, file)
        assert module is not None
        jobs = validate_jobs(module_jobs(module, paths))
        return ApplyFile(jobs, []), PruneScope(module=module), AlertSections()
    except (JobFileError, AlertFileError) as exc:
        _invalid(f"{file or module} is not valid", exc.problems)


def module_jobs(name: str, paths: list[str]) -> list[dict[str, Any]]:
    """Import ``name`` (from ``paths`` and the current directory) and return its jobs."""
    for directory in [os.getcwd(), *paths]:
        absolute = os.path.abspath(directory)
        if absolute not in sys.path:
            sys.path.insert(0, absolute)
    try:
        importlib.import_module(name)
    except ImportError as exc:
        fail(f"cannot import {name}: {exc}", EXIT_BAD_INPUT)
    specs = registered_jobs(name)
    if not specs:
        err().print(f"[yellow]{name} declares no @tickwork.job functions[/]")
    return specs


def _invalid(what: str, problems: list[str]) -> NoReturn:
    console = err()
    console.print(f"[bold red]error:[/] {what}; nothing was changed:", soft_wrap=True)
    for problem in problems:
        console.print(f"  {problem}", markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def show_plan(console: Console, plan: Plan) -> None:
    for step in plan.steps:
        mark, style = MARKS[step.action]
        console.print(f"[{style}]{mark} {step.action:<9} {step.name}[/]", soft_wrap=True)
        for change in step.changes:
            console.print(
                f"      {change.field}: [red]{escape(repr(change.old))}[/] → "
                f"[green]{escape(repr(change.new))}[/]",
                soft_wrap=True,
                markup=True,
            )
    c = plan.counts()
    console.print(
        f"Plan: {c['create']} to create, {c['update']} to update, {c['delete']} to delete, "
        f"{c['unchanged']} unchanged."
    )


def _run(
    client: Client,
    plan: Plan,
    calendars: list[CalendarStep],
    *,
    dry_run: bool,
    yes: bool,
    quiet: bool,
    alerts: Sequence[AlertStep] = (),
    pipelines: Sequence[PipelineStep] = (),
) -> bool:
    """Apply the calendars (first: jobs and pipelines may name them), then the jobs' plan,
    then the pipelines, then the alert channels and rules, then the jobs' deletes."""
    changing = [a for a in alerts if a.action != "unchanged"]
    changes = (
        bool(plan.changes)
        or bool(changing)
        or any(c.action != "unchanged" for c in calendars)
        or any(p.action != "unchanged" for p in pipelines)
    )
    if not changes or dry_run:
        if not quiet:
            err().print("dry run: nothing changed" if changes else "nothing to change")
        return False
    confirm("Apply these changes?", yes=yes)
    apply_calendars(client, calendars, quiet=quiet)
    channels = [a for a in changing if a.kind == "channel"]
    rules = [a for a in changing if a.kind == "rule"]
    for step in plan.changes:
        if step.action == "delete":
            continue
        _execute(client, step)
        _done(step.action, step.name, quiet)
    apply_pipelines(client, list(pipelines), quiet=quiet)
    for alert in (*channels, *rules):  # after the jobs, before any delete
        put = client.put_alert_channel if alert.kind == "channel" else client.put_alert_rule
        put(alert.body, create=alert.action == "create")
        _done(alert.action, f"{alert.kind} {alert.name}", quiet)
    for step in plan.changes:
        if step.action == "delete":
            _execute(client, step)
            _done(step.action, step.name, quiet)
    return True


def _done(action: str, name: str, quiet: bool) -> None:
    if not quiet:
        style = MARKS[action][1]
        err().print(f"[{style}]{action}d[/] {name}")  # created, updated, deleted


def _execute(client: Client, step: Step) -> None:
    if step.action == "create":
        client.create_job(step.body or {})
    elif step.action == "update":
        client.replace_job(step.name, step.body or {})
    elif step.action == "delete":
        client.delete_job(step.name)
