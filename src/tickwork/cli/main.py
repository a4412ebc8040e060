"""The `tickwork` command: run the system (server, dev, worker, db-upgrade, tokens) and operate
it over the API (jobs, calendars, pipelines, apply, export, runs, workers, dlq, status, top, bench).

Every API command takes --server / --token (also TICKWORK_SERVER / TICKWORK_TOKEN) and --json;
``tickwork --namespace NS …`` (also TICKWORK_NAMESPACE) picks the namespace they work in.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tickwork.cli import (
    apply,
    bench,
    calendars,
    dlq,
    export,
    jobs,
    pipelines,
    prune,
    runs,
    serve,
    status,
    tokens,
    top,
    worker,
    workers,
)
from tickwork.cli.common import choose_namespace

app = typer.Typer(
    name="tickwork",
    no_args_is_help=True,
    add_completion=False,
    help="tickwork: a distributed job scheduler.",
)


@app.callback()
def root(
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            envvar="TICKWORK_NAMESPACE",
            show_default=False,
            help="The namespace API commands work in: jobs are found by name and created "
            "there, lists keep to it \\[default: default].",
        ),
    ] = None,
) -> None:
    """tickwork: a distributed job scheduler."""
    choose_namespace(namespace)


RUN = "Run tickwork"
OPERATE = "Operate it over the API (--server, --token, --json)"

app.add_typer(jobs.app, name="jobs", no_args_is_help=True, rich_help_panel=OPERATE)
app.add_typer(calendars.app, name="calendars", no_args_is_help=True, rich_help_panel=OPERATE)
app.add_typer(pipelines.app, name="pipelines", no_args_is_help=True, rich_help_panel=OPERATE)
app.command("apply", rich_help_panel=OPERATE)(apply.apply)
app.command("export", rich_help_panel=OPERATE)(export.export)
app.add_typer(runs.app, name="runs", no_args_is_help=True, rich_help_panel=OPERATE)
app.command("workers", rich_help_panel=OPERATE)(workers.workers)
app.add_typer(dlq.app, name="dlq", no_args_is_help=True, rich_help_panel=OPERATE)
app.command("status", rich_help_panel=OPERATE)(status.status)
app.command("top", rich_help_panel=OPERATE)(top.top)
app.command("prune", rich_help_panel=OPERATE)(prune.prune)
app.command("bench", rich_help_panel=OPERATE)(bench.bench)
app.command("server", rich_help_panel=RUN)(serve.server)
app.command("dev", rich_help_panel=RUN)(serve.dev)
app.command(
    "worker",
    context_settings=worker.CONTEXT,
    add_help_option=False,
    help=worker.worker.__doc__,
    rich_help_panel=RUN,
)(worker.worker)
app.command("db-upgrade", rich_help_panel=RUN)(serve.db_upgrade)
app.add_typer(tokens.app, name="tokens", rich_help_panel=RUN)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
