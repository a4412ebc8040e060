"""`tickwork worker …`: run a worker, exactly as `python -m tickwork.worker …` does.

The arguments go untouched to ``tickwork.worker.main.parse_options``, so flags, the
``TICKWORK_*`` variables and their precedence are the same in both (see ``--help``).
"""

from __future__ import annotations

import typer

CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def worker(ctx: typer.Context) -> None:
    """Run a worker: --server URL --tags a,b --concurrency N --path DIR … (--help for all)."""
    from tickwork.worker.main import parse_options, run_worker  # the worker loads on use

    raise typer.Exit(run_worker(parse_options(list(ctx.args))))
