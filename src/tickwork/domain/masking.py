"""Masking a run's secret values in everything the worker reports: output, error, result.

A value is masked in the forms a job plausibly prints it in (``encoded_forms``), in text that
arrives in chunks cut anywhere (``StreamMask``), and in JSON values, dict keys included.
Masking is a safety net for careless jobs, not a sandbox: a job that holds a secret can
always transform it (reverse it, base64 it) and print that. docs/decisions.md says why these
forms and not others."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_MASKED_LENGTH = 3
"""Shorter values are not masked: masking every "ab" would garble the output and hide nothing."""


def encoded_forms(value: str) -> frozenset[str]:
    """The value as a job plausibly prints it: raw; JSON-escaped (``TICKWORK_PARAMETERS``,
    json.dumps with and without ensure_ascii), also as ``echo`` of /bin/sh (dash) prints
    JSON, undoing its backslashes; Python's repr of it as str and as UTF-8 bytes (a dict in
    a traceback, ``print(response.content)``); URL-encoded (quote, quote_plus).
    Empty for a value too short to mask."""
    if len(value) < MIN_MASKED_LENGTH:
        return frozenset()
    as_json = {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    forms = {
        value,
        *as_json,
        *(_ECHO_ESCAPE.sub(_echoed, form) for form in as_json),
        repr(value)[1:-1],
        repr(value.encode("utf-8", "surrogatepass"))[2:-1],
        quote(value, safe=""),
        quote_plus(value),
    }
    return frozenset(forms)


_ECHO_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ECHO = {"\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
"""What an XSI ``echo`` (dash's, /bin/sh on Debian) makes of the escapes JSON writes; it
leaves ``\\"`` and ``\\u`` as they are."""


def _echoed(escape: re.Match[str]) -> str:
    return _ECHO.get(escape.group(1), escape.group(0))


@dataclass(frozen=True, slots=True)
class Mask:
    """Masks a run's secret values, in every encoded form, in text and in JSON values."""

    patterns: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> Mask:
        forms = {form for value in values for form in encoded_forms(value)}
        return cls(tuple(sorted(forms, key=lambda f: (-len(f), f))))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def text(self, text: str) -> str:
        """Each stretch of text covered by occurrences of the secrets (overlapping ones
        together) becomes one ``***``."""
        if not self.patterns:
            return text
        out, _ = _render(text, _spans(text, self.patterns), 0, len(text))
        return out

    def value(self, value: Any) -> Any:
        """A JSON value with strings masked, dict keys included; a number that shows a
        secret becomes ``***``."""
        if not self.patterns:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown = json.dumps(value)
            return MASK if self.text(shown) != shown else value
        return value

    def stream(self) -> StreamMask:
        return StreamMask(self.patterns)


class StreamMask:
    """Masks one output stream that arrives in chunks cut anywhere (pipe reads, a write
    split in two). ``feed`` returns at once everything that can no longer be part of a
    secret, and holds back only the tail that could still be the start of one (at most
    the longest form less one character); ``flush`` gives the held tail at the end.

    The concatenation of what ``feed`` and ``flush`` return equals ``Mask.text`` of the
    whole stream, however it was cut."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self._patterns = patterns
        self._held = ""
        self._covered = 0  # the first characters of _held already shown as part of a ***

    def feed(self, text: str) -> str:
        if not self._patterns:
            return text
        buffer = self._held + text
        cut = len(buffer) - _possible_start(buffer, self._patterns)
        return self._release(buffer, cut)

    def flush(self) -> str:
        return self._release(self._held, len(self._held)) if self._patterns else ""

    def _release(self, buffer: str, cut: int) -> str:
        if cut == 0:  # all of it may still begin a secret; what is covered stays covered
            self._held = buffer
            return ""
        spans = _spans(buffer, self._patterns)
        if self._covered:
            spans = _merged([(0, self._covered), *spans])
        out, end = _render(buffer, spans, self._covered, cut)
        self._held = buffer[cut:]
        self._covered = max(0, end - cut)
        return out


def _spans(text: str, patterns: Iterable[str]) -> list[tuple[int, int]]:
    """Where the patterns occur (occurrences may overlap), merged into disjoint spans."""
    found: list[tuple[int, int]] = []
    for pattern in patterns:
        at = text.find(pattern)
        while at >= 0:
            found.append((at, at + len(pattern)))
            at = text.find(pattern, at + 1)
    return _merged(found)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _render(text: str, spans: list[tuple[int, int]], covered: int, cut: int) -> tuple[str, int]:
    """``text[:cut]`` with each span as ``***`` (none for the span that continues the first
    ``covered`` characters, already shown); also the end of a span that crosses ``cut``."""
    pieces: list[str] = []
    at = 0
    crossing = 0
    for start, end in spans:
        if start >= cut:
            break
        pieces.append(text[at:start])
        if not (covered and start == 0):
            pieces.append(MASK)
        at = min(end, cut)
        crossing = end if end > cut else 0
    pieces.append(text[at:cut])
    return "".join(pieces), crossing


def _possible_start(text: str, patterns: Iterable[str]) -> int:
    """Length of the longest end of ``text`` that is the beginning (not the whole) of a pattern."""
    longest = 0
    for pattern in patterns:
        window = len(pattern) - 1
        tail = text[-window:] if window else ""
        at = tail.find(pattern[0])
        while at >= 0 and len(tail) - at > longest:
            if pattern.startswith(tail[at:]):
                longest = len(tail) - at
                break
            at = tail.find(pattern[0], at + 1)
    return longest


def redact(text: str, values: Iterable[str]) -> str:
    """Mask secret values (and their encoded forms) in one complete text."""
    return Mask.of(values).text(text)
