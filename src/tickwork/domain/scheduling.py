"""What the scheduler does with a due job: which ticks fire, which are skipped and why."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from tickwork.domain.business import BusinessSchedule
from tickwork.domain.schedules import Schedule

Catchup = Literal["latest", "all", "none"]
SCAN_LIMIT = 100_000  # ticks examined at most after a very long outage


@dataclass(frozen=True, slots=True)
class TickPlan:
    """The ticks to fire now, named by their nominal times (a run's ``scheduled_for``).

    Each tick fires (its run is created) at nominal time + ``offset``, the job's jitter.
    """

    fire: list[datetime]
    skipped: list[tuple[datetime, str]] = field(default_factory=list)
    skipped_total: int = 0
    next_nominal: datetime | None = None
    offset: timedelta = timedelta(0)

    def fire_at(self, tick: datetime) -> datetime:
        """When the run of nominal ``tick`` is due to be created and claimed."""
        return tick + self.offset

    @property
    def next_due(self) -> datetime | None:
        """The job's next ``next_run``: the next nominal tick plus the offset."""
        return None if self.next_nominal is None else self.next_nominal + self.offset


def jitter_offset(job_id: str, jitter: float) -> timedelta:
    """A stable per-job offset in [0, jitter) seconds that spreads fire times.

    It depends only on the job's id and its ``jitter``, so every coordinator computes the
    same one, and a job keeps one phase: its ticks fire in order, one run per nominal tick.
    """
    if jitter <= 0:
        return timedelta(0)
    digest = int.from_bytes(hashlib.sha256(job_id.encode()).digest()[:8], "big")
    return timedelta(seconds=(digest % 1_000_000) / 1_000_000 * jitter)


def _collect(
    schedule: Schedule | BusinessSchedule, due: datetime, now: datetime, cutoff: datetime
) -> tuple[list[datetime], int, list[datetime], datetime | None]:
    """Split the ticks from ``due`` up to ``now`` into missed (< cutoff) and on-time ones."""
    missed: list[datetime] = []
    missed_total = 0
    tick: datetime | None = due
    while tick is not None and tick < cutoff and missed_total < SCAN_LIMIT:
        missed.append(tick)
        missed = missed[-1000:]
        missed_total += 1
        tick = schedule.next_after(tick)
    if tick is not None and tick < cutoff:  # a very long outage: jump to the present
        missed_total += 1
        tick = schedule.next_after(cutoff - timedelta(microseconds=1))
    on_time: list[datetime] = []
    while tick is not None and tick <= now:
        on_time.append(tick)
        tick = schedule.next_after(tick)
    return missed, missed_total, on_time, tick


def plan_ticks(
    schedule: Schedule | BusinessSchedule,
    *,
    due: datetime,
    now: datetime,
    catchup: Catchup,
    grace: float,
    limit: int,
    max_events: int = 100,
    offset: timedelta = timedelta(0),
    since: datetime | None = None,
    ahead: float = 0.0,
) -> TickPlan:
    """Decide the runs for every tick from ``due`` (a nominal time) whose fire time has come.

    A tick fires at its nominal time + ``offset`` (the job's jitter). One whose fire time is
    more than ``grace`` seconds past is a misfire and follows the catch-up policy:
    ``latest`` makes one run for the newest tick, ``all`` replays up to ``limit`` of the
    newest ticks, ``none`` skips every misfire. Never more than ``limit`` runs.

    Under a business calendar (a ``BusinessSchedule``) the ticks are the calendar's; the
    closed days passed over before each business day's first tick are skipped with the
    calendar's reason ("weekend", "holiday: Christmas Day", …), none from before ``since``.

    ``ahead`` seconds: the ticks whose fire time comes after ``now`` but within ``ahead``
    seconds fire too (their runs are written ahead, claimable at their fire time), each
    one, never a misfire; at most ``limit`` of them. 0: only the ticks whose time has come.
    """
    shifted = now - offset  # the nominal time whose tick fires now
    missed, missed_total, on_time, nxt = _collect(
        schedule, due, shifted, shifted - timedelta(seconds=grace)
    )
    if catchup == "all":
        candidates = (missed + on_time)[-limit:]
        fire = candidates
        reason = f"catchup=all replays at most {limit} ticks"
    elif catchup == "none":
        fire = on_time[-1:]
        reason = "missed while no scheduler was running (catchup=none)"
    else:
        fire = (missed + on_time)[-1:]
        reason = "folded into the latest tick (catchup=latest)"
    fired = set(fire)
    skipped: list[tuple[datetime, str]] = []
    closed = 0
    for tick in missed + on_time:
        if isinstance(schedule, BusinessSchedule):
            days = schedule.closed_before(tick, since=since)
            skipped += days
            closed += len(days)
        if tick not in fired:
            skipped.append((tick, reason))
    early: list[datetime] = []
    horizon = shifted + timedelta(seconds=ahead)
    while ahead > 0 and nxt is not None and nxt <= horizon and len(early) < limit:
        if isinstance(schedule, BusinessSchedule):
            days = schedule.closed_before(nxt, since=since)
            skipped += days
            closed += len(days)
        early.append(nxt)
        nxt = schedule.next_after(nxt)
    fire = fire + early
    total = missed_total + len(on_time) + len(early) - len(fire) + closed
    return TickPlan(
        fire=fire,
        skipped=skipped[-max_events:],
        skipped_total=total,
        next_nominal=nxt,
        offset=offset,
    )
