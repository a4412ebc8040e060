"""Identifiers: ``job-…``, ``run-…``, ``worker-…``; short, random, URL-safe."""

from __future__ import annotations

import os

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def short_id(prefix: str, length: int = 12) -> str:
    """``prefix-`` and ``length`` base-36 characters from the OS's random source (one read;
    12 characters hold 62 bits)."""
    n = int.from_bytes(os.urandom(8 if length <= 12 else 16), "big")
    chars = []
    for _ in range(length):
        n, digit = divmod(n, 36)
        chars.append(_ALPHABET[digit])
    return prefix + "-" + "".join(chars)


def job_id() -> str:
    return short_id("job")


def run_id() -> str:
    return short_id("run")


def worker_id() -> str:
    return short_id("worker", 8)


def dead_letter_id() -> str:
    return short_id("dlq")


def pipeline_id() -> str:
    return short_id("pipe")


def pipeline_run_id() -> str:
    return short_id("prun")
