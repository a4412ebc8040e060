"""The error summary of a failed attempt: one short line, the reason a person needs."""

from __future__ import annotations

import traceback

import pytest

from tickwork.domain.summary import MAX_SUMMARY, error_summary, exception_line


def _traceback_of(exc: BaseException) -> str:
    try:
        raise exc
    except BaseException as caught:
        return "".join(traceback.format_exception(caught)).rstrip()


def test_python_takes_the_exception_line_of_the_traceback() -> None:
    tb = _traceback_of(RuntimeError("partner API returned 503"))
    assert tb.startswith("Traceback")
    summary = error_summary(job_type="python", outcome="failed", error=tb, exit_code=1)
    assert summary == "RuntimeError: partner API returned 503"


def test_python_chained_exceptions_give_the_last_one() -> None:
    try:
        try:
            {}["key"]
        except KeyError as exc:
            raise ValueError("could not load\nsecond line") from exc
    except ValueError as exc:
        tb = "".join(traceback.format_exception(exc))
    assert exception_line(tb) == "ValueError: could not load"


def test_python_syntax_errors_skip_source_and_caret_lines() -> None:
    tb = (
        "Traceback (most recent call last):\n"
        '  File "/jobs/x.py", line 3\n'
        "    foo(\n"
        "       ^\n"
        "SyntaxError: '(' was never closed\n"
    )
    assert exception_line(tb) == "SyntaxError: '(' was never closed"


def test_python_error_without_a_traceback_gives_its_last_line() -> None:
    summary = error_summary(
        job_type="python", outcome="failed", error="job crashed\nkilled by signal SIGKILL"
    )
    assert summary == "killed by signal SIGKILL"


def test_shell_takes_the_last_non_empty_stderr_line() -> None:
    stderr = "starting\nERROR: partner API returned 503\n\n   \n"
    summary = error_summary(
        job_type="shell", outcome="failed", error="exit code 3", exit_code=3, stderr=stderr
    )
    assert summary == "ERROR: partner API returned 503"


def test_shell_without_stderr_falls_back_to_the_exit_code() -> None:
    assert (
        error_summary(job_type="shell", outcome="failed", error="exit code 3", exit_code=3)
        == "exit code 3"
    )
    assert error_summary(job_type="shell", outcome="failed", error=None, exit_code=4) == (
        "exit code 4"
    )


def test_http_gives_the_status_and_the_head_of_the_body() -> None:
    result = {"status_code": 503, "body": "  <h1>Service\n  Unavailable</h1> " + "x" * 500}
    summary = error_summary(job_type="http", outcome="failed", error="HTTP 503", result=result)
    assert summary is not None
    assert summary.startswith("HTTP 503: <h1>Service Unavailable</h1> xxx")
    assert len(summary) == MAX_SUMMARY and summary.endswith("…")


def test_http_without_an_answer_gives_the_error() -> None:
    summary = error_summary(
        job_type="http", outcome="failed", error="ConnectError: [Errno 111] Connection refused"
    )
    assert summary == "ConnectError: [Errno 111] Connection refused"
    empty = error_summary(
        job_type="http", outcome="failed", error="HTTP 502", result={"status_code": 502, "body": ""}
    )
    assert empty == "HTTP 502"


@pytest.mark.parametrize(
    ("outcome", "error", "expected"),
    [
        ("timed_out", "timed out after 30s", "timed out after 30s"),
        ("timed_out", None, "timed out"),
        ("lost", "worker lost: lease expired", "worker lost: lease expired"),
        ("lost", None, "worker lost"),
    ],
)
def test_timeouts_and_lost_workers_say_so(outcome: str, error: str | None, expected: str) -> None:
    summary = error_summary(job_type="shell", outcome=outcome, error=error, stderr="noise\n")
    assert summary == expected


@pytest.mark.parametrize("outcome", ["completed", "cancelled"])
def test_attempts_that_did_not_fail_have_no_summary(outcome: str) -> None:
    assert error_summary(job_type="shell", outcome=outcome, error="x", stderr="y") is None


def test_a_summary_is_one_line_of_at_most_200_characters() -> None:
    summary = error_summary(job_type="shell", outcome="failed", error=None, stderr="é" * 1000)
    assert summary is not None and len(summary) == MAX_SUMMARY and "\n" not in summary


def test_masked_secrets_stay_masked() -> None:
    summary = error_summary(
        job_type="shell", outcome="failed", error="exit code 1", stderr="token ******** refused"
    )
    assert summary == "token ******** refused"


def test_nothing_at_all_still_says_failed() -> None:
    assert error_summary(job_type="shell", outcome="failed", error=None) == "failed"
