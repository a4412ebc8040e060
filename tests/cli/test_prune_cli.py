"""`tickwork prune`: what the retention policy removes, counted or done, over the API."""

from __future__ import annotations

from tickwork.client import Client

from .conftest import Invoke, as_json


def test_prune_dry_run_then_prune(tw: Invoke, client: Client) -> None:
    job = client.create_job(
        {
            "name": "counted",
            "type": "shell",
            "command": "true",
            "retention_runs": 1,
            "on_overlap": "queue",
        }
    )
    for _ in range(3):
        client.cancel_run(client.trigger(job.id).run_id)

    dry = as_json(tw("prune", "--dry-run", "--json"))
    assert dry["dry_run"] is True and dry["pruned"]["runs"] == 2
    assert len(client.list_runs(job="counted").runs) == 3

    table = tw("prune")
    assert table.exit_code == 0, table.output
    assert "removed" in table.stdout and "finished runs" in table.stdout
    removed = next(line for line in table.stdout.splitlines() if "finished runs" in line)
    assert removed.split("│")[2].strip() == "2"
    assert len(client.list_runs(job="counted").runs) == 1
    assert as_json(tw("prune", "--dry-run", "--json"))["pruned"]["runs"] == 0
