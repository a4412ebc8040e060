"""Why an attempt failed, in one short line: what a person needs in a list, a toast or a
group of dead letters ("ValueError: partner API returned 503", not "exit code 1").

Pure: it reads what the worker reported (the error, the result, the stored stderr), all of
it already masked by the worker, so a summary never holds a secret the output did not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_SUMMARY = 200
"""The longest summary, in characters (the database column's size)."""

STDERR_TAIL = 4096
"""The end of stderr a summary is taken from (its last line is all that is kept)."""

_FRAME = '  File "'


def error_summary(
    *,
    job_type: str,
    outcome: str,
    error: str | None,
    exit_code: int | None = None,
    stderr: str = "",
    result: Any = None,
) -> str | None:
    """The summary of an attempt that ended with ``outcome``; None if it did not fail."""
    if outcome in ("completed", "cancelled"):
        return None
    if outcome == "timed_out":
        return shorten(last_line(error) or "timed out")
    if outcome == "lost":
        return shorten(last_line(error) or "worker lost")
    if job_type == "python":
        text = exception_line(error or "")
    elif job_type == "shell":
        text = last_line(stderr) or last_line(error)
    elif job_type == "http":
        text = http_line(error, result)
    else:
        text = last_line(error)
    if not text and exit_code is not None:
        text = f"exit code {exit_code}"
    return shorten(text or "failed")


def exception_line(traceback: str) -> str:
    """The exception line of a Python traceback ("KeyError: 'x'"): the first line after the
    last frame (its source and caret lines are indented); else the text's last line."""
    lines = traceback.splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith(_FRAME)]
    if not frames:
        return last_line(traceback)
    for line in lines[frames[-1] + 1 :]:
        if line.strip() and not line[:1].isspace():
            return line.strip()
    return last_line(traceback)


def http_line(error: str | None, result: Any) -> str:
    """ "HTTP 503: <the body's head>" for an answer that was not a success; the error (a
    connection failure, say) when there was no answer."""
    if isinstance(result, Mapping) and isinstance(result.get("status_code"), int):
        body = " ".join(str(result.get("body") or "").split())
        head = f"HTTP {result['status_code']}"
        return f"{head}: {body}" if body else head
    return last_line(error)


def last_line(text: str | None) -> str:
    """The last non-empty line of ``text``, stripped ("" if none)."""
    for line in reversed((text or "").splitlines()):
        if line.strip():
            return line.strip()
    return ""


def shorten(text: str) -> str:
    """One line of at most ``MAX_SUMMARY`` characters (cut with an ellipsis)."""
    line = " ".join(text.split())
    if len(line) <= MAX_SUMMARY:
        return line
    return line[: MAX_SUMMARY - 1] + "…"
