"""One-off runs' rules (domain/oneoff.py): the fields refused and why, the label, the run id a
key gives, the secrets a definition names, and retention of a one-off run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import HttpRequest, JobSpec
from tickwork.domain.oneoff import one_off, one_off_run_id, secret_fields
from tickwork.domain.retention import RunFacts, run_prunable

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)


def spec(**fields: Any) -> JobSpec:
    return JobSpec(**{"name": "x", "type": "shell", "command": "true", **fields})


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"schedule": "@daily"}, "schedule", "no schedule"),
        ({"calendar": "de"}, "calendar", "no schedule"),
        ({"depends_on": ("a",)}, "depends_on", "no dependencies"),
        ({"on_overlap": "queue"}, "on_overlap", "not to a one-off run"),
        ({"sla_max_duration": 5.0}, "sla", "not to a one-off run"),
        ({"retention_runs": 3}, "retention_runs", "not to a one-off run"),
        ({"command": None}, "command", "required"),
    ],
)
def test_refused_fields(fields: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        one_off(spec(**fields), label=None, idempotency_key=None, now=NOW)
    assert caught.value.field == field
    assert words in caught.value.reason


def test_label_and_run_id() -> None:
    plain = one_off(spec(), label=None, idempotency_key=None, now=NOW)
    assert plain.spec.name == plain.run_id and plain.label is None
    assert plain.run_id.startswith("run-") and len(plain.run_id) == 16
    assert plain.spec.on_overlap == "allow"  # its run never waits on its own definition
    named = one_off(spec(), label="nightly-fix", idempotency_key=None, now=NOW)
    assert (named.spec.name, named.label) == ("nightly-fix", "nightly-fix")
    with pytest.raises(ValidationError) as caught:
        one_off(spec(), label="job-x", idempotency_key=None, now=NOW)
    assert caught.value.field == "name"


def test_a_key_names_one_run_per_namespace() -> None:
    a = one_off_run_id("default", "k")
    assert a == one_off_run_id("default", "k") != one_off_run_id("team", "k")
    assert a != one_off_run_id("default", "k2")
    assert one_off_run_id("default", None) != one_off_run_id("default", None)
    keyed = one_off(spec(), label=None, idempotency_key="k", now=NOW)
    assert keyed.run_id == a and keyed.idempotency_key == "k"


def test_secret_fields() -> None:
    found = secret_fields(
        spec(
            env={"PW": {"$secret": "DB"}},
            parameters={"deep": [{"t": {"$secret": "TOKEN"}}]},
        )
    )
    assert found == [("parameters.deep.0.t", "TOKEN"), ("env.PW", "DB")]
    http = JobSpec(
        name="h",
        type="http",
        request=HttpRequest(url="https://x.test", headers={"A": {"$secret": "H"}}),
    )
    assert secret_fields(http) == [("request.headers.A", "H")]
    assert secret_fields(spec(env={"X": "plain"})) == []


@pytest.mark.parametrize(
    ("status", "age_days", "dead_letter", "prunable"),
    [
        ("completed", 31, False, True),  # its definition's latest run, yet it goes
        ("completed", 29, False, False),
        ("failed", 31, True, False),
        ("running", 31, False, False),
    ],
)
def test_retention_of_a_one_off_run(
    status: str, age_days: int, dead_letter: bool, prunable: bool
) -> None:
    run = RunFacts(
        status=status,
        queued_at=NOW - timedelta(days=age_days),
        newer_runs=0,
        open_dead_letter=dead_letter,
        one_off=True,
    )
    assert run_prunable(run, before=NOW - timedelta(days=30), keep_last=None) is prunable
