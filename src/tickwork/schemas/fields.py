"""Field types every request model is built from, so hostile input is refused the same way
everywhere, on both database backends, before it reaches a service.

- ``Text``: a string without NUL (``\\u0000``: PostgreSQL cannot store it in text or JSON)
  and without lone surrogates (not Unicode text: no database or JSON encoder takes them).
- ``JsonObject`` / ``JsonDoc``: JSON whose strings and keys obey the same rule and whose
  numbers are finite (``NaN`` and ``Infinity`` are not JSON).
- ``Int64`` … : integers that are integers (``true`` is refused, not read as 1) and fit the
  column they go to; their bounds are schema constraints, so the OpenAPI document lists them.
- ``OutputText`` / ``OutputJson``: what a job printed or returned, reported by a worker.
  A program may print NUL; refusing its output would lose it (and with it the run's
  outcome), so these replace what cannot be stored with U+FFFD instead of refusing.

``tests/unit/test_wire_fields.py`` walks every request model and fails when a field uses a
plain ``str``, ``int`` or ``JsonValue``, so a new field cannot forget these rules.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, JsonValue, Strict
from pydantic_core import PydanticCustomError

__all__ = [
    "INT32_MAX",
    "INT64_MAX",
    "INT64_MIN",
    "Checked",
    "Count",
    "ExitCode",
    "Fence",
    "Int32",
    "JsonDoc",
    "JsonObject",
    "OutputJson",
    "OutputText",
    "Tag",
    "Text",
    "scrub",
    "text_problem",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL (\\u0000)"
    return f"must not contain a lone surrogate (\\u{ord(found.group()):04x})"


def scrub(value: str) -> str:
    """``value`` with NUL and lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, value)


def _refuse(problem: str, at: str = "") -> PydanticCustomError:
    # ``at`` is the path inside a JSON value; the API's error handler appends it to the field
    return PydanticCustomError("unstorable", problem, {"at": at} if at else None)


def _checked_text(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise _refuse(problem)
    return value


def _checked_json(value: Any) -> Any:
    problem = _json_problem(value, "")
    if problem is not None:
        raise _refuse(*problem)
    return value


def _json_problem(value: Any, at: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        problem = text_problem(value)
        return (problem, at) if problem else None
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite (NaN and Infinity are not JSON)", at
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{at}.{key}" if at else str(key)
            problem = text_problem(key)
            if problem is not None:
                return f"keys {problem}", at
            found = _json_problem(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _json_problem(item, f"{at}.{index}" if at else str(index))
            if found is not None:
                return found
    return None


def _scrubbed_text(value: Any) -> Any:
    return scrub(value) if isinstance(value, str) else value


def _scrubbed_json(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {_scrubbed_text(k): _scrubbed_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed_json(v) for v in value]
    return value


Text = Annotated[str, AfterValidator(_checked_text)]
checked_text = _checked_text
"""The check of ``Text`` for a validator of its own (a field of several shapes)."""
"""A string from a client: NUL and lone surrogates are refused (422 naming the field)."""

Checked = AfterValidator(_checked_json)
"""Holds any value made of strings, lists and dicts to the rules of ``Text`` (for unions,
whose members would otherwise name themselves in the error's location)."""

JsonDoc = Annotated[JsonValue, Checked]
"""Any JSON value from a client, held to the rules of ``Text`` in every string and key."""

JsonObject = Annotated[dict[str, JsonValue], Checked]
"""A JSON object from a client (job parameters)."""

Tag = Annotated[Text, Field(min_length=1, max_length=64)]
"""A job or worker tag (the domain checks its characters)."""

OutputText = Annotated[str, BeforeValidator(_scrubbed_text)]
"""Text a job produced: NUL and lone surrogates become U+FFFD, nothing is refused."""

OutputJson = Annotated[JsonValue, BeforeValidator(_scrubbed_json)]
"""A job's JSON result: strings scrubbed like ``OutputText``, NaN and Infinity become null."""

Int64 = Annotated[int, Strict(), Field(ge=INT64_MIN, le=INT64_MAX)]
"""A signed 64-bit integer; ``true``, ``1.0`` and ``"1"`` are refused."""

Int32 = Annotated[int, Strict(), Field(ge=INT32_MIN, le=INT32_MAX)]
"""A signed 32-bit integer (an INTEGER column)."""

Count = Annotated[int, Strict(), Field(ge=0, le=INT32_MAX)]
"""A non-negative 32-bit integer (a pid, a count)."""

Fence = Annotated[int, Strict(), Field(ge=0, le=INT64_MAX)]
"""A lease fence (a BIGINT that only grows)."""

ExitCode = Int32
"""A process exit status (negative: the signal that ended it)."""
