"""`tickwork prune [--dry-run]`: apply the retention policy now, or see what it would remove."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tickwork.cli.common import JsonOpt, ServerOpt, TokenOpt, out, print_json, session
from tickwork.domain.retention import PRUNED_KINDS
from tickwork.schemas.admin import PruneOut

WHAT = {
    "runs": "finished runs (with attempts, output, resolved dead letters)",
    "output": "attempts' stdout/stderr cleared",
    "audit": "audit entries",
    "workers": "rows of workers gone",
    "events": "event rows",
    "pipeline_runs": "finished pipeline runs (never a pipeline's latest)",
}


def prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")
    ] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply the retention policy now (admin token): the same batches the leader runs in the
    background every TICKWORK_PRUNE_INTERVAL seconds, until no backlog is left."""
    answers: list[PruneOut] = []
    with session(server, token) as client:
        while True:
            answer = client.prune(dry_run=dry_run)
            answers.append(answer)
            if not answer.more:
                break
    totals = {k: sum(getattr(a.pruned, k) for a in answers) for k in PRUNED_KINDS}
    if as_json:
        print_json({"dry_run": dry_run, "pruned": totals, "policy": answers[-1].policy})
        return
    p = answers[-1].policy
    table = Table(title="would be removed" if dry_run else "removed", title_justify="left")
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_column("kept for")
    kept = {
        "runs": f"{p.runs_days:g} days (or the job's own)",
        "output": f"{p.output_days:g} days",
        "audit": f"{p.audit_days:g} days",
        "workers": f"{p.workers_days:g} days",
        "events": f"{p.events_hours:g} hours",
        "pipeline_runs": f"{p.runs_days:g} days",
    }
    for kind in PRUNED_KINDS:
        table.add_row(WHAT[kind], f"{totals[kind]:,}", kept[kind])
    out().print(table)
