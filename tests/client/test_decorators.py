"""@tickwork.job: what it records, and that it leaves the function alone."""

from __future__ import annotations

import pytest

import tickwork
from tickwork.decorators import owner_tag, registered_jobs
from tickwork.schemas.jobs import JobIn


@tickwork.job(schedule="0 9 * * *", timezone="Europe/Berlin", retries=2, tags=["reports"])
def send_daily_report(recipients: list[str]) -> int:
    return len(recipients)


@tickwork.job
def bare_job() -> str:
    return "bare"


@tickwork.job(name="after-report", depends_on=["send-daily-report"], parameters={"x": 1})
def follow_up() -> None:
    return None


def test_the_function_is_unchanged() -> None:
    assert send_daily_report(["a", "b"]) == 2
    assert bare_job() == "bare"
    assert send_daily_report.__name__ == "send_daily_report"


def test_registered_specs_are_valid_jobs() -> None:
    specs = {s["name"]: s for s in registered_jobs(__name__)}
    assert list(specs) == ["send-daily-report", "bare-job", "after-report"]
    report = specs["send-daily-report"]
    assert report == {
        "name": "send-daily-report",
        "type": "python",
        "function": f"{__name__}.send_daily_report",
        "schedule": "0 9 * * *",
        "timezone": "Europe/Berlin",
        "retries": 2,
        "tags": ["reports", owner_tag(__name__)],
    }
    assert "schedule" not in specs["bare-job"]
    assert specs["after-report"]["depends_on"] == ["send-daily-report"]
    for spec in specs.values():
        JobIn.model_validate(spec)
    specs["bare-job"]["tags"].append("mutated")  # callers get copies
    assert registered_jobs(__name__)[1]["tags"] == [owner_tag(__name__)]


def test_misuse_is_refused_at_decoration() -> None:
    def nested() -> None: ...

    with pytest.raises(TypeError, match="module-level function"):
        tickwork.job(schedule="@daily")(nested)
    with pytest.raises(TypeError, match="does not take command"):
        tickwork.job(command="echo")
    with pytest.raises(ValueError, match="declared twice"):
        tickwork.job(name="bare-job")(send_daily_report)
