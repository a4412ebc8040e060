"""What the scheduler does with a due job: which ticks fire, which are skipped and why."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from tickwork.domain.schedules import Schedule

Catchup = Literal["latest", "all", "none"]
SCAN_LIMIT = 100_000  # ticks examined at most after a very long outage


@dataclass(frozen=True, slots=True)
class TickPlan:
    fire: list[datetime]
    skipped: list[tuple[datetime, str]] = field(default_factory=list)
    skipped_total: int = 0
    next_nominal: datetime | None = None


def jitter_offset(job_id: str, jitter: float) -> timedelta:
    """A stable per-job offset in [0, jitter) seconds that spreads fire times."""
    if jitter <= 0:
        return timedelta(0)
    digest = int.from_bytes(hashlib.sha256(job_id.encode()).digest()[:8], "big")
    return timedelta(seconds=(digest % 1_000_000) / 1_000_000 * jitter)


def _collect(
    schedule: Schedule, due: datetime, now: datetime, cutoff: datetime
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
    schedule: Schedule,
    *,
    due: datetime,
    now: datetime,
    catchup: Catchup,
    grace: float,
    limit: int,
    max_events: int = 100,
) -> TickPlan:
    """Decide the runs for every tick from ``due`` (nominal time) up to ``now``.

    A tick later than ``grace`` seconds is a misfire and follows the catch-up policy:
    ``latest`` makes one run for the newest tick, ``all`` replays up to ``limit`` of the
    newest ticks, ``none`` skips every misfire. Never more than ``limit`` runs.
    """
    missed, missed_total, on_time, nxt = _collect(
        schedule, due, now, now - timedelta(seconds=grace)
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
    skipped = [(tick, reason) for tick in missed + on_time if tick not in fired]
    total = missed_total + len(on_time) - len(fire)
    return TickPlan(fire=fire, skipped=skipped[-max_events:], skipped_total=total, next_nominal=nxt)
