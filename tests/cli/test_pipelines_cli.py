"""Pipelines from the command line: examples/pipeline.yaml through `tickwork apply` (create,
unchanged, update, prune), `tickwork export` writing them back for another server, and
`tickwork pipelines …` driving them."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.client.served import EXAMPLES, serve
from tickwork.client import Client

from .conftest import Factory, Invoke, as_json, invoker

EXAMPLE = EXAMPLES / "pipeline.yaml"

SMALL = """
pipelines:
  - name: small
    tasks:
      - {name: a, type: shell, command: "echo a"}
      - {name: b, type: shell, command: "echo b", depends_on: [a]}
"""


def test_the_example_applies_and_round_trips(tw: Invoke, tmp_path: Path, client: Client) -> None:
    first = as_json(tw("apply", "-f", str(EXAMPLE), "--yes", "--json"))
    assert first["pipelines"]["create"] == ["nightly-etl"]
    assert first["create"] == []  # the task jobs are the pipeline's, not the file's jobs
    made = client.get_pipeline("nightly-etl")
    assert [t.name for t in made.tasks] == [
        "prepare",
        "extract",
        "transform",
        "load",
        "report",
        "notify-failure",
    ]
    assert made.tasks[5].depends_on[0] == {"job": "extract", "on": "failure"}
    again = as_json(tw("apply", "-f", str(EXAMPLE), "--dry-run", "--json"))
    assert again["pipelines"]["unchanged"] == ["nightly-etl"]
    assert again["applied"] is False

    exported = tmp_path / "out.yaml"
    assert tw("export", "-o", str(exported)).exit_code == 0
    doc = yaml.safe_load(exported.read_text())
    assert doc["jobs"] == []  # no task job among the jobs
    assert doc["pipelines"][0]["name"] == "nightly-etl"
    assert doc["pipelines"][0]["tasks"][0] == {
        "name": "prepare",
        "type": "shell",
        "command": 'echo "staging in ${TICKWORK_ETL_STAGING:-${TMPDIR:-/tmp}}/tickwork-etl"',
        "timeout": 60,
        "retries": 0,
    }
    back = as_json(tw("apply", "-f", str(exported), "--dry-run", "--json"))
    assert back["pipelines"]["unchanged"] == ["nightly-etl"]
    with serve(tmp_path / "empty.db") as other:
        fresh = invoker(other.url)
        made_again = as_json(fresh("apply", "-f", str(exported), "--yes", "--json"))
        assert made_again["pipelines"]["create"] == ["nightly-etl"]
        with Client(other.url, token="") as there:
            copy = there.get_pipeline("nightly-etl")
            assert [t.model_dump()["function"] for t in copy.tasks] == [
                t.model_dump()["function"] for t in made.tasks
            ]


def test_plan_shows_updates_and_prune_deletes(
    tw: Invoke, job_file: Factory, client: Client
) -> None:
    as_json(tw("apply", "-f", str(job_file(SMALL)), "--yes", "--json"))
    changed = SMALL.replace('command: "echo b"', 'command: "echo B"')
    shown = tw("apply", "-f", str(job_file(changed)), "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert "~ update    pipeline small  (tasks)" in shown.output
    done = as_json(tw("apply", "-f", str(job_file(changed)), "--yes", "--json"))
    assert done["pipelines"]["update"] == ["small"]
    assert client.get_job("small.b").command == "echo B"
    other = "jobs:\n  - {name: solo, type: shell, command: 'true'}\n"
    pruned = as_json(tw("apply", "-f", str(job_file(other)), "--prune", "--yes", "--json"))
    assert pruned["pipelines"]["delete"] == ["small"]
    assert pruned["delete"] == []  # its task jobs go with it, not as pruned jobs
    assert client.list_pipelines().total == 0


def test_a_task_job_cannot_be_declared_as_a_job(
    tw: Invoke, job_file: Factory, client: Client
) -> None:
    as_json(tw("apply", "-f", str(job_file(SMALL)), "--yes", "--json"))
    hijack = "jobs:\n  - {name: small.b, type: shell, command: 'echo other'}\n"
    result = tw("apply", "-f", str(job_file(hijack)), "--yes")
    assert result.exit_code == 2
    assert "small.b: is a task of a pipeline" in result.output
    assert client.get_job("small.b").command == "echo b"


def test_a_bad_pipeline_file_changes_nothing(tw: Invoke, job_file: Factory, client: Client) -> None:
    bad = SMALL.replace("depends_on: [a]", "depends_on: [nowhere]")
    result = tw("apply", "-f", str(job_file(bad)), "--yes")
    assert result.exit_code == 2
    assert "pipelines[0] (small): tasks[1].depends_on: no task 'nowhere'" in result.output
    assert client.list_pipelines().total == 0


def test_pipelines_commands(tw: Invoke, job_file: Factory, client: Client) -> None:
    as_json(tw("apply", "-f", str(job_file(SMALL)), "--yes", "--json"))
    listed = tw("pipelines", "list")
    assert listed.exit_code == 0 and "small" in listed.output
    shown = tw("pipelines", "show", "small")
    assert "small.b" in shown.output and "a" in shown.output
    run = as_json(tw("pipelines", "trigger", "small", "--json"))
    assert run["status"] == "running" and run["created"] is True
    detail = tw("pipelines", "show", run["id"])
    assert "queued" in detail.output and "pending" in detail.output
    runs = as_json(tw("pipelines", "runs", "small", "--json"))
    assert [r["id"] for r in runs["items"]] == [run["id"]]
    cancelled = tw("pipelines", "cancel", run["id"])
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    assert client.get_pipeline_run(run["id"]).status == "cancelled"
    retried = tw("pipelines", "retry", run["id"])
    assert retried.exit_code == 0 and "running" in retried.output
    assert tw("pipelines", "pause", "small").exit_code == 0
    assert client.get_pipeline("small").enabled is False
    assert tw("pipelines", "resume", "small").exit_code == 0
    refused = tw("pipelines", "delete", "small", "--yes")
    assert refused.exit_code != 0 and "active" in refused.output
    assert tw("pipelines", "delete", "small", "--yes", "--force").exit_code == 0
    assert client.list_pipelines().total == 0
    bad = tw("pipelines", "trigger", "small", "--params", "[1]")
    assert bad.exit_code == 2
