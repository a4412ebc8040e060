"""`tickwork jobs list|show|create|patch|trigger|pause|resume|delete`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from tickwork.cli import logs
from tickwork.cli.common import (
    EXIT_BAD_INPUT,
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
from tickwork.cli.jobfile import JobFileError, read_job_file
from tickwork.cli.render import job_detail, jobs_table, runs_table, when
from tickwork.schemas.jobs import JobList

app = typer.Typer(help="List, inspect, create, change, trigger, pause, resume and delete jobs.")

JobArg = Annotated[str, typer.Argument(help="Job name or id.", show_default=False)]


@app.command("list")
def list_(
    tag: Annotated[str | None, typer.Option(help="Only jobs with this tag.")] = None,
    status: Annotated[
        str | None, typer.Option(help="idle, paused, queued, running, completed, failed …")
    ] = None,
    schedule_type: Annotated[str | None, typer.Option(help="cron, interval, once or none.")] = None,
    search: Annotated[str | None, typer.Option("--search", "-q", help="Name contains.")] = None,
    limit: Annotated[int, typer.Option(help="Jobs per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    all_pages: Annotated[bool, typer.Option("--all", help="Every page.")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Jobs by name, with filters (one page unless --all)."""
    filters: dict[str, Any] = {
        "tag": tag,
        "status": status,
        "schedule_type": schedule_type,
        "q": search,
    }
    with session(server, token) as client:
        if all_pages:
            jobs = list(client.iter_jobs(**filters, page_size=max(limit, 200)))
            page = JobList(jobs=jobs, total=len(jobs), next_cursor=None)
        else:
            page = client.list_jobs(**filters, limit=limit, cursor=cursor)
    if as_json:
        print_json(page)
        return
    out().print(jobs_table(page.jobs))
    more = f"; next page: --cursor {page.next_cursor}" if page.next_cursor else ""
    err().print(f"{len(page.jobs)} of {page.total} job(s){more}", soft_wrap=True)


@app.command("show")
def show(
    job: JobArg, server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """A job's definition, stats, dependents and recent runs."""
    with session(server, token) as client:
        detail = client.get_job(job)
    if as_json:
        print_json(detail)
        return
    console = out()
    console.print(job_detail(detail))
    if detail.recent_runs:
        console.print(runs_table(detail.recent_runs[:10]))


@app.command("create")
def create(
    file: Annotated[str, typer.Option("--file", "-f", help="YAML or JSON job file (- = stdin).")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create one job from a file (checked locally first). For many, use `tickwork apply`."""
    try:
        jobs = read_job_file(file)
    except JobFileError as exc:
        fail("; ".join(exc.problems), EXIT_BAD_INPUT)
    if len(jobs) != 1:
        fail(
            f"{file} holds {len(jobs)} jobs; create takes one (use tickwork apply)", EXIT_BAD_INPUT
        )
    with session(server, token) as client:
        created = client.create_job(jobs[0])
    if as_json:
        print_json(created)
        return
    out().print(f"created {created.name} ({created.id}), next run {when(created.next_run)}")


@app.command("patch")
def patch(
    job: JobArg,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", "-s", help="field=value (value read as JSON if it parses); repeatable."
        ),
    ] = None,
    unset: Annotated[
        list[str] | None, typer.Option("--unset", help="Reset a field to its default.")
    ] = None,
    patch_: Annotated[
        str | None,
        typer.Option("--patch", help='A JSON Merge Patch, e.g. \'{"parameters": {"x": 1}}\'.'),
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change some fields of a job, leaving the rest as they are (JSON Merge Patch: an
    object in --patch merges into the one there; --set and --unset apply after it)."""
    changes = _parameters(patch_, set_ or [], option="--patch")
    for field in unset or []:
        changes[field] = None
    if not changes:
        fail("nothing to change: give --set, --unset or --patch", EXIT_BAD_INPUT)
    with session(server, token) as client:
        done = client.patch_job(job, changes)
    if as_json:
        print_json(done)
        return
    out().print(f"patched {done.name} ({done.id}): {', '.join(sorted(changes))}")


@app.command("trigger")
def trigger(
    job: JobArg,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="key=value (value read as JSON if it parses)."),
    ] = None,
    params: Annotated[str | None, typer.Option(help="Parameters as a JSON object.")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="The same key returns the same run.")
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", help="Then stream its output.")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Queue a run now, with parameters merged over the job's."""
    parameters = _parameters(params, param or [])
    with session(server, token) as client:
        result = client.trigger(job, parameters, idempotency_key=idempotency_key)
        if not as_json:
            note = "" if result.created else " (an existing run was returned)"
            err().print(f"{result.status} {result.run_id}{note}")
        if follow:
            raise typer.Exit(logs.follow(client, result.run_id, as_json=as_json))
    if as_json:
        print_json(result)
    else:
        out().print(result.run_id)


def _parameters(raw: str | None, pairs: list[str], option: str = "--params") -> dict[str, Any]:
    values: dict[str, Any] = {}
    if raw:
        try:
            values = json.loads(raw)
        except ValueError as exc:
            fail(f"{option} is not JSON: {exc}", EXIT_BAD_INPUT)
        if not isinstance(values, dict):
            fail(f"{option} must be a JSON object", EXIT_BAD_INPUT)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"{pair!r}: expected key=value", EXIT_BAD_INPUT)
        values[key] = _json_or_text(value)
    return values


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


@app.command("pause")
def pause(
    job: JobArg, server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """Stop scheduling a job (queued runs still run)."""
    with session(server, token) as client:
        done = client.pause_job(job)
    _print_state(done, as_json)


@app.command("resume")
def resume(
    job: JobArg, server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """Schedule a paused job again from now."""
    with session(server, token) as client:
        done = client.resume_job(job)
    _print_state(done, as_json)


def _print_state(job: Any, as_json: bool) -> None:
    if as_json:
        print_json(job)
    else:
        out().print(f"{job.name}: {job.status}, next run {when(job.next_run)}")


@app.command("delete")
def delete(
    job: JobArg,
    force: Annotated[
        bool, typer.Option("--force", help="Also remove it from the jobs that depend on it.")
    ] = False,
    yes: YesOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a job and its runs (refused while other jobs depend on it, unless --force)."""
    confirm(f"Delete job {job} and all its runs?", yes=yes)
    with session(server, token) as client:
        client.delete_job(job, force=force)
    if as_json:
        print_json({"deleted": job})
    else:
        out().print(f"deleted {job}")
