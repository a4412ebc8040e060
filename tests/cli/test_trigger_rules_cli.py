"""Trigger rules in apply files: conditions and trigger_rule round-trip through apply and
export (applied back, nothing changes), a changed condition is an update, and `jobs show`
says which edges wait for what."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.client.served import EXAMPLES
from tickwork.client import Client

from .conftest import Factory, Invoke, as_json

JOBS = """
jobs:
  - name: extract
    type: shell
    command: "echo extract"
  - name: load
    type: shell
    command: "echo load"
    depends_on: [extract]
  - name: cleanup
    type: shell
    command: "echo cleanup"
    depends_on:
      - {job: extract, on: failure}
      - {job: load, on: failure}
    trigger_rule: any
  - name: report
    type: shell
    command: "echo report"
    depends_on: [{job: load, on: done}]
"""


def test_conditions_round_trip_through_apply_and_export(
    tw: Invoke, job_file: Factory, client: Client, tmp_path: Path
) -> None:
    made = as_json(tw("apply", "-f", str(job_file(JOBS)), "--yes", "--json"))
    assert sorted(made["create"]) == ["cleanup", "extract", "load", "report"]
    cleanup = client.get_job("cleanup")
    assert [d if isinstance(d, str) else d.model_dump() for d in cleanup.depends_on] == [
        {"job": "extract", "on": "failure"},
        {"job": "load", "on": "failure"},
    ]
    assert cleanup.trigger_rule == "any"
    assert client.get_job("load").depends_on == ["extract"]  # a plain name stays plain

    again = as_json(tw("apply", "-f", str(job_file(JOBS)), "--dry-run", "--json"))
    assert not again["create"] and not again["update"]

    exported = tmp_path / "exported.yaml"
    assert tw("export", "-o", str(exported)).exit_code == 0
    doc = {j["name"]: j for j in yaml.safe_load(exported.read_text())["jobs"]}
    assert doc["load"]["depends_on"] == ["extract"]
    assert doc["report"]["depends_on"] == [{"job": "load", "on": "done"}]
    assert doc["cleanup"]["trigger_rule"] == "any"
    assert "trigger_rule" not in doc["load"]  # the default is left out
    back = as_json(tw("apply", "-f", str(exported), "--dry-run", "--json"))
    assert sorted(back["unchanged"]) == ["cleanup", "extract", "load", "report"]
    assert not back["create"] and not back["update"] and not back["delete"]


def test_a_changed_condition_or_rule_is_an_update(
    tw: Invoke, job_file: Factory, client: Client
) -> None:
    assert tw("apply", "-f", str(job_file(JOBS)), "--yes").exit_code == 0
    changed = JOBS.replace("{job: load, on: done}", "{job: load, on: success}").replace(
        "trigger_rule: any", "trigger_rule: all"
    )
    plan = as_json(tw("apply", "-f", str(job_file(changed)), "--dry-run", "--json"))
    updates = {u["name"]: u["changes"] for u in plan["update"]}
    assert updates["report"]["depends_on"] == {
        "old": [{"job": "load", "on": "done"}],
        "new": ["load"],
    }
    assert updates["cleanup"] == {"trigger_rule": {"old": "any", "new": "all"}}
    assert tw("apply", "-f", str(job_file(changed)), "--yes").exit_code == 0
    assert client.get_job("report").depends_on == ["load"]


def test_a_cycle_through_a_failure_edge_is_refused_before_any_change(
    tw: Invoke, job_file: Factory, client: Client
) -> None:
    cyclic = JOBS.replace(
        'command: "echo extract"',
        'command: "echo extract"\n    depends_on: [{job: cleanup, on: done}]',
    )
    result = tw("apply", "-f", str(job_file(cyclic)), "--yes")
    assert result.exit_code == 2 and "dependency cycle" in result.stderr
    assert list(client.iter_jobs()) == []


def test_jobs_show_names_each_condition(tw: Invoke, job_file: Factory) -> None:
    assert tw("apply", "-f", str(job_file(JOBS)), "--yes").exit_code == 0
    shown = tw("jobs", "show", "cleanup")
    assert shown.exit_code == 0, shown.output
    assert "extract (on failure), load (on failure)" in shown.stdout
    assert "any of them" in shown.stdout


def test_the_example_file_applies_and_reads_back_unchanged(tw: Invoke, client: Client) -> None:
    example = str(EXAMPLES / "trigger_rules.yaml")
    assert tw("apply", "-f", example, "--yes").exit_code == 0
    report = client.get_job("import-report")
    assert report.trigger_rule == "any"
    assert [d if isinstance(d, str) else (d.job, d.on) for d in report.depends_on] == [
        ("import-cleanup", "done"),
        ("publish", "done"),
    ]
    again = as_json(tw("apply", "-f", example, "--dry-run", "--json"))
    assert not again["create"] and not again["update"]
