"""The tick planner: catch-up after downtime, never a storm, every skip explained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tickwork.domain.schedules import parse_schedule
from tickwork.domain.scheduling import jitter_offset, plan_ticks

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EVERY_MINUTE = parse_schedule("* * * * *")


def test_an_on_time_tick_fires_alone() -> None:
    plan = plan_ticks(
        EVERY_MINUTE, due=T, now=T + timedelta(seconds=0.3), catchup="latest", grace=60, limit=100
    )
    assert plan.fire == [T]
    assert plan.skipped == [] and plan.skipped_total == 0
    assert plan.next_nominal == T + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("catchup", "fired", "skipped"),
    [
        ("latest", [64], 64),
        ("all", list(range(65)), 0),
        ("none", [64], 64),  # the on-time tick still fires; the 64 misfires do not
    ],
)
def test_an_hour_of_downtime(catchup: str, fired: list[int], skipped: int) -> None:
    now = T + timedelta(minutes=64, seconds=30)  # 12:00 … 13:04 due; only 13:04 within grace
    plan = plan_ticks(
        EVERY_MINUTE,
        due=T,
        now=now,
        catchup=catchup,  # type: ignore[arg-type]
        grace=60,
        limit=100,
    )
    assert plan.fire == [T + timedelta(minutes=m) for m in fired]
    assert plan.skipped_total == skipped
    assert len(plan.skipped) == skipped
    assert all(f"catchup={catchup}" in reason for _, reason in plan.skipped)
    assert plan.next_nominal == T + timedelta(minutes=65)


def test_catchup_all_is_bounded() -> None:
    plan = plan_ticks(
        EVERY_MINUTE, due=T, now=T + timedelta(days=1), catchup="all", grace=60, limit=10
    )
    assert len(plan.fire) == 10
    assert plan.fire[-1] == T + timedelta(days=1)
    assert plan.skipped_total == 24 * 60 + 1 - 10
    assert len(plan.skipped) <= 100


def test_a_year_down_is_planned_quickly_and_once() -> None:
    plan = plan_ticks(
        parse_schedule("every 1s"),
        due=T,
        now=T + timedelta(days=365),
        catchup="latest",
        grace=60,
        limit=100,
    )
    assert len(plan.fire) == 1
    assert plan.next_nominal is not None and plan.next_nominal > T + timedelta(days=364)


def test_one_time_schedule_fires_once_then_stops() -> None:
    once = parse_schedule("2026-03-01T12:00:00Z")
    plan = plan_ticks(
        once, due=T, now=T + timedelta(seconds=1), catchup="latest", grace=60, limit=10
    )
    assert plan.fire == [T]
    assert plan.next_nominal is None
    late = plan_ticks(once, due=T, now=T + timedelta(hours=2), catchup="none", grace=60, limit=10)
    assert late.fire == [] and late.skipped_total == 1


def test_jitter_offset_is_stable_and_bounded() -> None:
    a = jitter_offset("job-abc", 30)
    assert a == jitter_offset("job-abc", 30)
    assert timedelta(0) <= a < timedelta(seconds=30)
    assert jitter_offset("job-abc", 0) == timedelta(0)
    assert len({jitter_offset(f"job-{i}", 60) for i in range(50)}) > 40
