"""What becomes of a run when an attempt ends (domain/outcomes.py), by delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tickwork.domain.outcomes import Decision, decide
from tickwork.domain.retry import RetryPolicy

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LEAST = RetryPolicy(retries=2, delay=10, backoff="fixed", jitter=0)
MOST = RetryPolicy(retries=2, delay=10, backoff="fixed", jitter=0, at_most_once=True)


@pytest.mark.parametrize(
    ("outcome", "policy", "attempt", "expected"),
    [
        ("completed", MOST, 1, Decision("completed")),
        ("cancelled", MOST, 1, Decision("cancelled")),
        ("failed", LEAST, 1, Decision("queued", not_before=NOW + timedelta(seconds=10))),
        ("failed", MOST, 1, Decision("queued", not_before=NOW + timedelta(seconds=10))),
        ("failed", MOST, 3, Decision("failed", dead_letter=True)),
        ("lost", LEAST, 1, Decision("queued", not_before=NOW + timedelta(seconds=10))),
        ("timed_out", LEAST, 2, Decision("queued", not_before=NOW + timedelta(seconds=10))),
        (
            "lost",
            MOST,
            1,
            Decision("failed", dead_letter=True, note="lost; not retried: at-most-once"),
        ),
        (
            "timed_out",
            MOST,
            1,
            Decision("failed", dead_letter=True, note="timed out; not retried: at-most-once"),
        ),
    ],
)
def test_a_lost_or_timed_out_attempt_is_retried_only_at_least_once(
    outcome: str, policy: RetryPolicy, attempt: int, expected: Decision
) -> None:
    got = decide(outcome, attempt=attempt, max_attempts=3, policy=policy, now=NOW)
    assert got == expected


def test_the_delivery_is_read_from_a_stored_spec() -> None:
    assert RetryPolicy.of({"delivery": "at_most_once"}).at_most_once
    assert not RetryPolicy.of({"delivery": "at_least_once"}).at_most_once
    assert not RetryPolicy.of({}).at_most_once  # jobs stored before the field existed
