"""`tickwork runs list|show|logs|cancel|retry`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from tickwork.cli import logs
from tickwork.cli.common import (
    EXIT_BAD_INPUT,
    JsonOpt,
    ServerOpt,
    TokenOpt,
    err,
    fail,
    out,
    print_json,
    session,
)
from tickwork.cli.render import attempts_table, run_detail, runs_table, status
from tickwork.schemas.runs import RunList, RunOut

app = typer.Typer(help="List and inspect runs, read or follow their output, cancel and retry.")

RunArg = Annotated[str, typer.Argument(help="Run id (run-…).", show_default=False)]
WhenOpt = Annotated[
    str | None,
    typer.Option(help="ISO time (UTC if no offset) or an age: 30m, 2h, 7d.", show_default=False),
]
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """``2h`` → two hours ago; ``2026-05-01T09:00`` → that time (UTC unless it has an offset)."""
    age = _AGE.match(text.strip())
    if age:
        delta = timedelta(seconds=float(age.group(1)) * _UNITS[age.group(2)])
        return (now or datetime.now(UTC)) - delta
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{text!r} is neither an ISO time nor an age like 30m, 2h, 7d", EXIT_BAD_INPUT)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@app.command("list")
def list_(
    status_: Annotated[
        str | None,
        typer.Option("--status", help="queued, running, completed, failed, cancelled, missed."),
    ] = None,
    job: Annotated[str | None, typer.Option(help="Job name or id.")] = None,
    since: WhenOpt = None,
    until: WhenOpt = None,
    limit: Annotated[int, typer.Option(help="Runs per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Runs, newest first."""
    after = parse_when(since) if since else None
    before = parse_when(until) if until else None
    with session(server, token) as client:
        page: RunList = client.list_runs(
            status=status_, job=job, since=after, until=before, limit=limit, cursor=cursor
        )
    if as_json:
        print_json(page)
        return
    out().print(runs_table(page.runs))
    more = f"; next page: --cursor {page.next_cursor}" if page.next_cursor else ""
    err().print(f"{len(page.runs)} of {page.total} run(s){more}", soft_wrap=True)


@app.command("show")
def show(
    run_id: RunArg, server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """A run: status, timing, result, error, every attempt and the latest output."""
    with session(server, token) as client:
        run = client.get_run(run_id)
    if as_json:
        print_json(run)
        return
    console = out()
    console.print(run_detail(run))
    if run.attempts:
        console.print(attempts_table(run.attempts))
    if run.output:
        console.rule("output")
        console.print(run.output, markup=False, highlight=False, end="")


@app.command("logs")
def logs_(
    run_id: RunArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Stream live output until the run ends.")
    ] = False,
    attempt: Annotated[int | None, typer.Option(help="An earlier attempt.")] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """stdout and stderr of a run's latest attempt; with --follow, live until it ends
    (exit code 0 if it completed, 1 otherwise)."""
    with session(server, token) as client:
        if follow:
            raise typer.Exit(logs.follow(client, run_id, as_json=as_json))
        output = client.run_logs(run_id, attempt=attempt)
    logs.print_logs(output, as_json=as_json)


@app.command("cancel")
def cancel(
    run_id: RunArg, server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """Cancel a queued run at once, or tell a running run's worker to stop it."""
    with session(server, token) as client:
        run = client.cancel_run(run_id)
    _print_run(run, "cancel requested" if run.status == "running" else run.status, as_json)


@app.command("retry")
def retry(
    run_id: RunArg, server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """Queue a failed, cancelled or missed run again (same run id and idempotency key)."""
    with session(server, token) as client:
        run = client.retry_run(run_id)
    _print_run(run, run.status, as_json)


def _print_run(run: RunOut, what: str, as_json: bool) -> None:
    if as_json:
        print_json(run)
        return
    line = status(what)
    line.append(f" {run.id} ({run.job_name})", style="")
    out().print(line)
