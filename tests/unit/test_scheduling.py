"""The tick planner: catch-up after downtime, never a storm, every skip explained."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tickwork.domain.jobs import JobSpec, first_run
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


# --- jitter: a tick fires (its run is created) at nominal time + the job's offset --------------

OFFSET = timedelta(seconds=17.5)


def test_with_an_offset_a_tick_is_not_due_before_its_jittered_time() -> None:
    early = plan_ticks(
        EVERY_MINUTE,
        due=T,
        now=T + OFFSET - timedelta(milliseconds=1),
        catchup="latest",
        grace=60,
        limit=100,
        offset=OFFSET,
    )
    assert early.fire == [] and early.skipped_total == 0
    assert early.next_nominal == T and early.next_due == T + OFFSET
    on_time = plan_ticks(
        EVERY_MINUTE, due=T, now=T + OFFSET, catchup="latest", grace=60, limit=100, offset=OFFSET
    )
    assert on_time.fire == [T]  # the run keeps its nominal tick as identity
    assert on_time.fire_at(T) == T + OFFSET
    assert on_time.next_nominal == T + timedelta(minutes=1)
    assert on_time.next_due == T + timedelta(minutes=1) + OFFSET


def test_an_offset_longer_than_the_period_still_fires_one_run_per_tick() -> None:
    """jitter 25 s on a 10 s interval: every tick fires, each 25 s after its nominal time."""
    every_10s = parse_schedule("every 10s")
    offset = timedelta(seconds=25)
    due, fired = T, []
    for step in range(1, 60):
        now = T + timedelta(seconds=step)
        plan = plan_ticks(
            every_10s, due=due, now=now, catchup="latest", grace=60, limit=100, offset=offset
        )
        assert plan.skipped_total == 0
        fired += [(tick, now) for tick in plan.fire]
        assert plan.next_nominal is not None
        due = plan.next_nominal
    assert fired == [
        (T + timedelta(seconds=s), T + timedelta(seconds=s) + offset) for s in (0, 10, 20, 30)
    ]


@pytest.mark.parametrize(
    ("catchup", "fired", "skipped"),
    [("latest", [64], 64), ("all", list(range(65)), 0), ("none", [64], 64)],
)
def test_downtime_with_an_offset_follows_the_same_catch_up_rules(
    catchup: str, fired: list[int], skipped: int
) -> None:
    """The same hour of downtime as above, every time shifted by the offset: same decisions."""
    now = T + timedelta(minutes=64, seconds=30) + OFFSET
    plan = plan_ticks(
        EVERY_MINUTE,
        due=T,
        now=now,
        catchup=catchup,  # type: ignore[arg-type]
        grace=60,
        limit=100,
        offset=OFFSET,
    )
    assert plan.fire == [T + timedelta(minutes=m) for m in fired]
    assert plan.skipped_total == skipped
    assert plan.next_due == T + timedelta(minutes=65) + OFFSET


def test_misfire_grace_counts_from_the_jittered_time() -> None:
    """A tick is late only once its own fire time (nominal + offset) is more than grace ago."""
    within = plan_ticks(
        EVERY_MINUTE,
        due=T,
        now=T + OFFSET + timedelta(seconds=59),
        catchup="none",
        grace=60,
        limit=100,
        offset=OFFSET,
    )
    assert within.fire == [T] and within.skipped_total == 0
    late = plan_ticks(
        EVERY_MINUTE,
        due=T,
        now=T + OFFSET + timedelta(seconds=61),
        catchup="none",
        grace=60,
        limit=100,
        offset=OFFSET,
    )
    assert late.fire == [T + timedelta(minutes=1)]  # on time: 1 min + offset ≤ now
    assert late.skipped == [(T, "missed while no scheduler was running (catchup=none)")]


@pytest.mark.parametrize("schedule", ["* * * * *", "every 1m", "@hourly", "every 45s"])
def test_the_first_tick_of_a_job_is_jittered_too(schedule: str) -> None:
    """first_run: the first nominal tick after now, fired at that tick + the job's offset."""
    spec = JobSpec(name="j", type="shell", command="true", schedule=schedule, jitter=30)
    now = T + timedelta(seconds=0.25)
    nominal = spec.parsed_schedule().next_after(now)  # type: ignore[union-attr]
    assert nominal is not None
    offsets = set()
    for i in range(40):
        job_id = f"job-{i:04d}"
        fire = first_run(spec, job_id=job_id, now=now)
        assert fire == nominal + jitter_offset(job_id, 30)
        offsets.add(fire)
    assert len(offsets) == 40  # forty jobs created in the same instant: forty fire times
    assert first_run(replace(spec, jitter=0), job_id="job-0000", now=now) == nominal
    assert first_run(replace(spec, enabled=False), job_id="job-0000", now=now) is None


# --- ticks written ahead (schedule_ahead) ---------------------------------------------------


def test_ahead_adds_the_ticks_whose_time_comes_within_it() -> None:
    now = T + timedelta(seconds=0.3)
    plan = plan_ticks(
        EVERY_MINUTE, due=T, now=now, catchup="latest", grace=60, limit=100, ahead=150
    )
    assert plan.fire == [T, T + timedelta(minutes=1), T + timedelta(minutes=2)]
    assert plan.skipped_total == 0
    assert plan.next_nominal == T + timedelta(minutes=3)


def test_a_job_not_yet_due_gets_its_ticks_ahead_and_no_misfire() -> None:
    due = T + timedelta(minutes=1)
    plan = plan_ticks(EVERY_MINUTE, due=due, now=T, catchup="none", grace=0, limit=100, ahead=60)
    assert plan.fire == [due]
    assert plan.skipped == [] and plan.skipped_total == 0
    assert plan.next_due == due + timedelta(minutes=1)


def test_ahead_zero_plans_as_before() -> None:
    now = T + timedelta(minutes=64, seconds=30)
    for catchup in ("latest", "all", "none"):
        kwargs = {"due": T, "now": now, "catchup": catchup, "grace": 60, "limit": 100}
        assert plan_ticks(EVERY_MINUTE, **kwargs, ahead=0) == plan_ticks(  # type: ignore[arg-type]
            EVERY_MINUTE,
            **kwargs,  # type: ignore[arg-type]
        )


def test_missed_ticks_fold_while_the_ticks_ahead_each_fire() -> None:
    now = T + timedelta(minutes=64, seconds=30)  # 12:00 … 13:04 due, 13:05 within ahead
    plan = plan_ticks(EVERY_MINUTE, due=T, now=now, catchup="latest", grace=60, limit=100, ahead=60)
    assert plan.fire == [T + timedelta(minutes=64), T + timedelta(minutes=65)]
    assert plan.skipped_total == 64


def test_ticks_ahead_are_bounded_by_the_limit() -> None:
    every_second = parse_schedule("every 1s")
    plan = plan_ticks(every_second, due=T, now=T, catchup="latest", grace=60, limit=10, ahead=60)
    assert len(plan.fire) == 11  # the tick due now and ten ahead
    assert plan.next_nominal == T + timedelta(seconds=11)


def test_jittered_ticks_ahead_fire_at_tick_plus_offset() -> None:
    offset = timedelta(seconds=7)
    plan = plan_ticks(
        EVERY_MINUTE,
        due=T + timedelta(minutes=1),
        now=T + timedelta(seconds=10),
        catchup="latest",
        grace=60,
        limit=100,
        offset=offset,
        ahead=60,
    )
    assert plan.fire == [T + timedelta(minutes=1)]
    assert plan.fire_at(plan.fire[0]) == T + timedelta(minutes=1, seconds=7)
