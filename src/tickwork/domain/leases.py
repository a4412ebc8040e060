"""Lease arithmetic, in one place: how often a worker heartbeats, how long the coordinator may
hold a heartbeat open, and when the worker's watchdog gives up on its runs.

All figures are seconds.

- **hold** ``E = min(lease_seconds, worker_lost_after)``: after the coordinator last recorded a
  heartbeat, how long until it may give the worker's runs to another worker (the lease passes,
  or the reaper marks the worker lost and ends its leases at once).
- **allowance** ``N = min(2, E / 10)``: a heartbeat's round trip and processing, on top of the
  time the coordinator holds it open (also covers clock-rate drift and process exit).
- **margin** ``M = min(10, E / 3)``: from the watchdog firing to the earliest moment the hold
  can end. The runs get SIGTERM when the watchdog fires and SIGKILL ``M - N`` later (the
  *fence grace*), so they are dead ``N`` before another worker may get them.
- **deadline** ``D = E - M``: the watchdog fires ``D`` after the *send* of the last heartbeat
  that was answered. The coordinator extended the leases somewhere between that send and the
  answer; the send is the earliest it can have been, so counting from there is safe.
- **interval** ``H``: the longest gap between two heartbeat sends, however slow the network
  (within the allowance). The coordinator holds each heartbeat open (a long-poll, so cancels
  arrive at once) for at most ``H - N`` (never more than 60), and the worker sends the next one
  as soon as the answer is in: a heartbeat goes out every ``H - N`` on a fast network, every
  ``H`` on the slowest. (An interval no longer than ``N`` is not long-polled: one every ``H``.)
  Rule: ``2 * (H + N) <= D``, i.e. ``H <= D / 2 - N``: even on the slowest network the answer
  to the next heartbeat arrives ``2 * N`` before the deadline, and a heartbeat that fails at
  once can be repeated and still prove contact in time. Unset, ``H = min(30, D / 2 - N)``.
- Each heartbeat asks to be held at most ``D - N - (time since the last answered send)``, so a
  long-poll can never push the proof of contact past the deadline.
- **ack timeout** ``A``: a claim's answer must reach the worker and its confirmation come back,
  so ``A >= 2 * N``. The worker executes a run as soon as it is claimed and confirms the start
  with a later report; the coordinator may hand an unconfirmed claim to another worker ``A``
  after the claim (its own clock: the claim happened no earlier than the worker *sent* the
  request plus the time the coordinator says it held the request open, ``claim_held``). So,
  counted from then (``AckWindow``): a run still waiting in the worker's prefetch
  has its start sent by ``S = C / 2``; a run whose start has not been answered by ``C = A - N -
  G`` is stopped (SIGTERM, SIGKILL ``G = min(M - N, (A - N) / 2)`` later), so it is dead ``N``
  before the claim can pass to another worker.

Defaults (lease 90, lost-after 90, ack 30): N 2, M 10, D 80, H 30 (at most 38), held 28;
a start answered within C 20 (G 8). Lease 30: D 20, H 8, held 6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "DEFAULT_INTERVAL",
    "MAX_POLL_WAIT",
    "MIN_INTERVAL",
    "AckWindow",
    "LeaseSettingsError",
    "LeaseTiming",
    "ack_window",
    "lease_timing",
    "max_interval",
]

DEFAULT_INTERVAL = 30.0
"""The heartbeat interval when none is set and the lease allows it."""

MAX_POLL_WAIT = 60.0
"""The protocol's longest heartbeat long-poll."""

MIN_INTERVAL = 0.1
"""A lease that would need heartbeats more often than this is refused."""

MAX_ALLOWANCE = 2.0
MAX_MARGIN = 10.0


class LeaseSettingsError(ValueError):
    """Settings under which a healthy worker would lose its runs, or a lost one keep them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    """The timing a worker keeps for a coordinator's lease (see the module's docstring)."""

    hold: float
    interval: float
    allowance: float
    margin: float

    @property
    def deadline(self) -> float:
        """Watchdog: seconds after the send of the last answered heartbeat."""
        return self.hold - self.margin

    @property
    def period(self) -> float:
        """The shortest gap between two heartbeat sends (the worker waits out the rest of it
        when an answer comes back early)."""
        return self.interval - self.allowance if self.interval > self.allowance else self.interval

    @property
    def poll_wait(self) -> float:
        """The longest the coordinator may hold a heartbeat open."""
        if self.interval <= self.allowance:
            return 0.0
        return min(self.interval - self.allowance, MAX_POLL_WAIT)

    @property
    def fence_grace(self) -> float:
        """SIGTERM → SIGKILL when the watchdog kills: the runs die ``allowance`` before the
        hold can end."""
        return self.margin - self.allowance

    def wait_for(self, since_contact: float) -> float:
        """How long the next heartbeat may be held, sent ``since_contact`` seconds after the
        send of the last answered one: its answer must arrive before the deadline."""
        return max(0.0, min(self.poll_wait, self.deadline - self.allowance - since_contact))

    def fitted(self, hold: float) -> LeaseTiming:
        """This timing for another hold, the interval shortened if that hold needs it."""
        return lease_timing(lease=hold, interval=min(self.interval, max_interval(hold)))


@dataclass(frozen=True, slots=True)
class AckWindow:
    """How long a worker has to confirm the start of a run it executes on claim (seconds after
    the *send* of the claim; see the module's docstring)."""

    timeout: float
    """The coordinator's ack_timeout."""
    allowance: float
    grace: float
    """SIGTERM → SIGKILL for a run whose start was not confirmed in time."""

    @property
    def confirm_by(self) -> float:
        """A run whose start is not answered by then is stopped."""
        return self.timeout - self.allowance - self.grace

    @property
    def send_by(self) -> float:
        """A run still waiting for a slot has its start sent by then (it keeps its claim)."""
        return self.confirm_by / 2

    @property
    def dead_by(self) -> float:
        """When the run must be dead: ``allowance`` before the claim can pass elsewhere."""
        return self.timeout - self.allowance


def ack_window(ack_timeout: float, timing: LeaseTiming) -> AckWindow:
    """The ack window for a coordinator's ack_timeout under this lease timing
    (``LeaseSettingsError`` if the timeout leaves no room for a confirmation)."""
    n = timing.allowance
    if ack_timeout < 2 * n:
        raise LeaseSettingsError(
            [
                f"ack_timeout ({_s(ack_timeout)}) is shorter than a claim's answer and its "
                f"confirmation need: it must be at least {_s(2 * n)}"
            ]
        )
    grace = min(timing.fence_grace, (ack_timeout - n) / 2)
    return AckWindow(timeout=ack_timeout, allowance=n, grace=grace)


def allowance_for(hold: float) -> float:
    return min(MAX_ALLOWANCE, hold / 10)


def margin_for(hold: float) -> float:
    return min(MAX_MARGIN, hold / 3)


def max_interval(hold: float, allowance: float | None = None) -> float:
    """The longest heartbeat interval that keeps a lease held for ``hold`` seconds (rounded
    down to 10 ms, so that the figure an error message shows is itself allowed)."""
    n = allowance_for(hold) if allowance is None else allowance
    return math.floor(round(((hold - margin_for(hold)) / 2 - n) * 100, 6)) / 100


def lease_timing(
    *,
    lease: float,
    lost_after: float | None = None,
    interval: float | None = None,
    ack_timeout: float | None = None,
    allowance: float | None = None,
) -> LeaseTiming:
    """The timing for these settings; ``LeaseSettingsError`` naming each rule they break.

    ``lost_after`` None: no shorter limit than the lease. ``interval`` None: the default,
    shortened to what the lease allows. ``allowance`` None: derived from the hold.
    """
    hold = lease if lost_after is None else min(lease, lost_after)
    n = allowance_for(hold) if allowance is None else allowance
    longest = max_interval(hold, n)
    held_by = _held_by(lease, lost_after)
    problems: list[str] = []
    if longest < MIN_INTERVAL:
        problems.append(
            f"{held_by} leaves no room for heartbeats: they would be needed every "
            f"{_s(max(longest, 0.0))}, and the shortest supported interval is {_s(MIN_INTERVAL)}"
        )
    elif interval is not None and interval > longest:
        problems.append(
            f"heartbeat_interval ({_s(interval)}) is too long for {held_by}: two heartbeats "
            f"and their network allowance must fit before the worker's watchdog fires "
            f"({_s(hold - margin_for(hold))} after the last one that got through), so "
            f"heartbeat_interval must be at most {_s(longest)}"
        )
    if ack_timeout is not None and ack_timeout < 2 * n:
        problems.append(
            f"ack_timeout ({_s(ack_timeout)}) is shorter than a claim's answer and its "
            f"confirmation need (twice the network allowance of {_s(n)} for {held_by}): "
            f"it must be at least {_s(2 * n)}"
        )
    if problems:
        raise LeaseSettingsError(problems)
    chosen = min(DEFAULT_INTERVAL, longest) if interval is None else interval
    return LeaseTiming(hold=hold, interval=chosen, allowance=n, margin=margin_for(hold))


def _held_by(lease: float, lost_after: float | None) -> str:
    if lost_after is not None and lost_after < lease:
        return f"worker_lost_after={_s(lost_after)} (shorter than lease_seconds={_s(lease)})"
    return f"lease_seconds={_s(lease)}"


def _s(seconds: float) -> str:
    return f"{round(seconds, 3):g}s"
