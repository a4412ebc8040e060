"""`tickwork dlq list|replay|resolve`: runs that failed with no retries left."""

from __future__ import annotations

from typing import Annotated

import typer

from tickwork.cli.common import JsonOpt, ServerOpt, TokenOpt, err, out, print_json, session
from tickwork.cli.render import dead_letters_table

app = typer.Typer(help="Dead letters: failed runs to replay or resolve.")

EntryArg = Annotated[str, typer.Argument(help="Dead-letter id.", show_default=False)]


@app.command("list")
def list_(
    resolved: Annotated[
        bool, typer.Option("--resolved", help="Resolved entries instead of open ones.")
    ] = False,
    all_: Annotated[bool, typer.Option("--all", help="Open and resolved entries.")] = False,
    limit: Annotated[int, typer.Option(help="Entries to show.")] = 50,
    offset: Annotated[int, typer.Option(help="Entries to skip.")] = 0,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open dead letters, newest first."""
    which: bool | None = None if all_ else resolved
    with session(server, token) as client:
        page = client.list_dead_letters(resolved=which, limit=limit, offset=offset)
    if as_json:
        print_json(page)
        return
    out().print(dead_letters_table(page.dead_letters))
    err().print(f"{len(page.dead_letters)} of {page.total} dead letter(s)")


@app.command("replay")
def replay(
    entry: EntryArg, server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """Queue the failed run again (same run id and idempotency key) and resolve the entry."""
    with session(server, token) as client:
        run = client.replay_dead_letter(entry)
    if as_json:
        print_json(run)
        return
    out().print(f"replayed {entry}: {run.id} ({run.job_name}) is {run.status}")


@app.command("resolve")
def resolve(
    entry: EntryArg,
    note: Annotated[
        str | None, typer.Option("--note", "-m", help="Why (kept on the entry, shown with it).")
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark the entry handled without running it again, with an optional note."""
    with session(server, token) as client:
        done = client.resolve_dead_letter(entry, note=note)
    if as_json:
        print_json(done)
        return
    said = f": {done.note}" if done.note else ""
    out().print(f"resolved {done.id} ({done.job_name}, {done.run_id}){said}")
