"""The rules of quotas and rate limits (domain/quotas.py), pure: room for new runs and jobs,
sliding rate windows, the claim's choice under every limit, and a queued run's reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tickwork.domain.errors import ValidationError
from tickwork.domain.quotas import (
    QuotaExceeded,
    Quotas,
    RateLimit,
    RateWindow,
    Usage,
    check_rate_limit,
    check_room,
    choose_runs,
    runs_room,
    waiting_reason,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_check_room_names_the_first_quota_passed() -> None:
    quotas = Quotas(max_jobs=2, max_queued=5, runs_per_hour=100)
    check_room("p", quotas, Usage(jobs=1, queued=4), new_jobs=1, new_runs=1)
    with pytest.raises(QuotaExceeded) as over:
        check_room("p", quotas, Usage(queued=4), new_runs=2)
    assert over.value.details == {
        "namespace": "p",
        "quota": "max_queued",
        "limit": 5,
        "used": 4,
        "requested": 2,
    }
    assert over.value.status == 429 and over.value.retry_after == 1
    with pytest.raises(QuotaExceeded) as hourly:
        check_room("p", quotas, Usage(runs_last_hour=100), new_runs=1)
    assert hourly.value.quota == "runs_per_hour" and hourly.value.retry_after == 3600


@pytest.mark.parametrize(
    ("quotas", "usage", "room", "binding"),
    [
        (Quotas(), Usage(), None, "max_queued"),
        (Quotas(max_queued=10), Usage(queued=7), 3, "max_queued"),
        (
            Quotas(max_queued=10, runs_per_hour=20),
            Usage(queued=2, runs_last_hour=19),
            1,
            "runs_per_hour",
        ),
        (Quotas(max_queued=3), Usage(queued=9), 0, "max_queued"),  # over (scheduled runs)
    ],
)
def test_runs_room_is_the_tightest_quota(
    quotas: Quotas, usage: Usage, room: int | None, binding: str
) -> None:
    left, refusal = runs_room("p", quotas, usage)
    assert left == room
    assert refusal.quota == binding


def test_rate_limits_are_checked() -> None:
    assert check_rate_limit(RateLimit(10, "1m"), field="rate_limit").seconds == 60
    with pytest.raises(ValidationError) as bad:
        check_rate_limit(RateLimit(0, "1m"), field="rate_limit")
    assert bad.value.field == "rate_limit.max"
    with pytest.raises(ValidationError) as per:
        check_rate_limit(RateLimit(1, "often"), field="x")
    assert per.value.field == "x.per"
    with pytest.raises(ValidationError):
        check_rate_limit(RateLimit(1, "8d"), field="x")


def test_a_window_slides() -> None:
    w = RateWindow(max=2, per=60, starts=[])
    assert w.room(T0) == 2
    w.take(T0)
    w.take(T0 + timedelta(seconds=30))
    assert w.room(T0 + timedelta(seconds=59)) == 0
    assert w.opens_at(T0 + timedelta(seconds=59)) == pytest.approx(1)
    assert w.room(T0 + timedelta(seconds=60)) == 1  # the first start left the window
    assert w.room(T0 + timedelta(seconds=91)) == 2


def test_choose_runs_keeps_every_limit_and_the_order() -> None:
    rows = [
        ("r1", "a", True, "ns"),
        ("r2", "a", True, "ns"),
        ("r3", "b", False, "ns"),
        ("r4", "b", False, "ns"),
        ("r5", "c", True, "other"),
        ("r6", "a", True, "ns"),
    ]
    windows = {"job:a": RateWindow(max=1, per=60, starts=[])}
    held: dict[str, int] = {}
    picked = choose_runs(
        rows,
        job_room={"b": 1},
        namespace_room={"ns": 2},
        windows=windows,
        keys_of={"a": ("job:a",)},
        limit=10,
        now=T0,
        held=held,
    )
    # a: one start in its window; b: concurrency 1; ns: two running at most; other: free
    assert picked == ["r1", "r3", "r5"]
    assert held == {"job": 1, "quota": 1}
    assert windows["job:a"].starts == [T0.timestamp()]


def test_choose_runs_stops_at_the_limit() -> None:
    rows = [(f"r{i}", "a", True, "ns") for i in range(5)]
    got = choose_runs(rows, job_room={}, namespace_room={}, windows={}, keys_of={}, limit=2, now=T0)
    assert got == ["r0", "r1"]


def test_waiting_reason_names_what_holds_the_run() -> None:
    full = RateWindow(max=1, per=60, starts=[T0.timestamp()])
    assert (
        waiting_reason(quotas=Quotas(max_running=2), usage=Usage(running=2), windows={}, now=T0)
        == "waiting for quota: max_running (2 of 2 running)"
    )
    reason = waiting_reason(quotas=Quotas(), usage=Usage(), windows={"tag:mail:smtp": full}, now=T0)
    assert reason == "waiting for rate limit: tag 'smtp' (1 per 60s; next start in 60s)"
    assert (
        waiting_reason(quotas=Quotas(max_running=3), usage=Usage(running=2), windows={}, now=T0)
        is None
    )
