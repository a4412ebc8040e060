"""Identifiers: ``job-…``, ``run-…``, ``worker-…``; short, random, URL-safe."""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def short_id(prefix: str, length: int = 12) -> str:
    return prefix + "-" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def job_id() -> str:
    return short_id("job")


def run_id() -> str:
    return short_id("run")


def worker_id() -> str:
    return short_id("worker", 8)


def dead_letter_id() -> str:
    return short_id("dlq")
