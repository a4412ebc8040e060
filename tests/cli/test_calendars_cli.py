"""Calendars from the command line: an apply file's ``calendars:`` (applied before the jobs
that name them), `tickwork export` writing them back, and `tickwork calendars …`."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.client.served import serve
from tickwork.client import Client

from .conftest import Factory, Invoke, as_json, invoker

FILE = """
namespace: ops
calendars:
  - name: de-business
    weekdays: [5, 1, 2, 3, 4]
    holidays: {country: de, subdivision: BY}
    exclude_dates: ["2026-12-24"]
    description: Bavarian office days
jobs:
  - name: report
    type: shell
    command: "echo report"
    schedule: "0 9 * * *"
    timezone: Europe/Berlin
    calendar: de-business
    calendar_policy: next_business_day
"""


def test_apply_creates_calendars_before_jobs_and_export_round_trips(
    tw: Invoke, job_file: Factory, tmp_path: Path
) -> None:
    first = as_json(tw("apply", "-f", str(job_file(FILE)), "--yes", "--json"))
    assert first["calendars"]["create"] == ["de-business"]
    assert first["create"] == ["report"]
    again = as_json(tw("apply", "-f", str(job_file(FILE)), "--dry-run", "--json"))
    assert again["calendars"] == {"create": [], "update": [], "unchanged": ["de-business"]}
    assert again["unchanged"] == ["report"]

    exported = tmp_path / "ops.yaml"
    assert tw("--namespace", "ops", "export", "-o", str(exported)).exit_code == 0
    doc = yaml.safe_load(exported.read_text())
    assert doc["calendars"] == [
        {
            "name": "de-business",
            "holidays": {"country": "DE", "subdivision": "BY"},
            "exclude_dates": ["2026-12-24"],
            "description": "Bavarian office days",
        }
    ]
    assert doc["jobs"][0]["calendar"] == "de-business"
    with serve(tmp_path / "empty.db") as other:
        fresh = invoker(other.url)
        made = as_json(fresh("apply", "-f", str(exported), "--yes", "--json"))
        assert made["calendars"]["create"] == ["de-business"]
        with Client(other.url, token="", namespace="ops") as client:
            [job] = list(client.iter_jobs())
            assert (job.calendar, job.calendar_policy) == ("de-business", "next_business_day")
            assert client.get_calendar("de-business").jobs == ["report"]


def test_a_changed_calendar_is_replaced(tw: Invoke, job_file: Factory) -> None:
    assert tw("apply", "-f", str(job_file(FILE)), "--yes").exit_code == 0
    changed = FILE.replace('exclude_dates: ["2026-12-24"]', 'exclude_dates: ["2026-12-31"]')
    plan = tw("apply", "-f", str(job_file(changed)), "--yes")
    assert plan.exit_code == 0, plan.output
    assert "~ update    calendar de-business  (exclude_dates)" in plan.output
    shown = as_json(tw("--namespace", "ops", "calendars", "show", "de-business", "--json"))
    assert shown["exclude_dates"] == ["2026-12-31"]


def test_a_bad_calendar_changes_nothing(tw: Invoke, job_file: Factory, client: Client) -> None:
    bad = FILE.replace("country: de", "country: XX").replace("[5, 1, 2, 3, 4]", "[9]")
    result = tw("apply", "-f", str(job_file(bad)), "--yes")
    assert result.exit_code != 0
    assert "calendars[0] (de-business): weekdays.0:" in result.output
    with Client(client.url, token="", namespace="ops") as ops:
        assert ops.list_calendars() == []
        assert list(ops.iter_jobs()) == []


def test_calendars_commands(tw: Invoke, job_file: Factory) -> None:
    assert tw("apply", "-f", str(job_file(FILE)), "--yes").exit_code == 0
    listed = tw("--namespace", "ops", "calendars", "list")
    assert listed.exit_code == 0
    assert "de-business" in listed.stdout and "DE-BY" in listed.stdout
    preview = as_json(
        tw(
            "--namespace",
            "ops",
            "calendars",
            "preview",
            "0 9 * * *",
            "--calendar",
            "de-business",
            "--timezone",
            "Europe/Berlin",
            "-n",
            "3",
            "--json",
        )
    )
    assert preview["calendar"] == "de-business" and len(preview["next"]) == 3
    in_use = tw("--namespace", "ops", "calendars", "delete", "de-business", "--yes")
    assert in_use.exit_code != 0
    assert "used by job(s) report" in in_use.output
    assert tw("--namespace", "ops", "jobs", "delete", "report", "--yes").exit_code == 0
    gone = tw("--namespace", "ops", "calendars", "delete", "de-business", "--yes")
    assert gone.exit_code == 0, gone.output
    assert as_json(tw("--namespace", "ops", "calendars", "list", "--json")) == []


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "calendars.yaml"


def test_the_example_file_applies_and_reapplies_to_nothing(tw: Invoke, client: Client) -> None:
    first = as_json(tw("apply", "-f", str(EXAMPLE), "--yes", "--json"))
    assert first["calendars"]["create"] == ["de-business"]
    assert sorted(first["create"]) == ["invoice-run", "month-end-report"]
    report = client.get_job("month-end-report")
    assert report.calendar_policy == "next_business_day" and report.next_run is not None
    again = as_json(tw("apply", "-f", str(EXAMPLE), "--dry-run", "--json"))
    assert again["calendars"]["unchanged"] == ["de-business"]
    assert sorted(again["unchanged"]) == ["invoice-run", "month-end-report"]
    shown = as_json(tw("calendars", "show", "de-business", "--json"))
    assert shown["jobs"] == ["invoice-run", "month-end-report"]
