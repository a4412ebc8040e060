"""Lease arithmetic: a healthy worker never trips its watchdog, a silent one self-fences first."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickwork.domain.leases import (
    MAX_POLL_WAIT,
    LeaseSettingsError,
    LeaseTiming,
    ack_window,
    lease_timing,
    max_interval,
)


@pytest.mark.parametrize(
    ("lease", "lost_after", "interval", "expect"),
    [
        # lease, lost-after, heartbeat →
        #     hold, interval, allowance, margin, deadline, poll wait, period
        (90, 90, None, (90, 30, 2, 10, 80, 28, 28)),  # the defaults
        (30, 90, None, (30, 8, 2, 10, 20, 6, 6)),  # the reported case: lease 30, no heartbeat
        (30, 90, 8, (30, 8, 2, 10, 20, 6, 6)),  # …the longest interval it allows
        (6, 90, None, (6, 1.4, 0.6, 2, 4, 0.8, 0.8)),
        (90, 20, None, (20, 4.66, 2, 20 / 3, 40 / 3, 2.66, 2.66)),  # lost-after shorter decides
        (4, 3, 0.5, (3, 0.5, 0.3, 1, 2, 0.2, 0.2)),  # the integration tests' fast settings
        (90, 90, 1.5, (90, 1.5, 2, 10, 80, 0, 1.5)),  # within the allowance: no long-poll
        (600, 600, 120, (600, 120, 2, 10, 590, MAX_POLL_WAIT, 118)),  # long-polls stop at 60 s
        (600, 600, None, (600, 30, 2, 10, 590, 28, 28)),  # the default never grows past 30 s
    ],
)
def test_timing_table(
    lease: float, lost_after: float, interval: float | None, expect: tuple[float, ...]
) -> None:
    t = lease_timing(lease=lease, lost_after=lost_after, interval=interval)
    got = (t.hold, t.interval, t.allowance, t.margin, t.deadline, t.poll_wait, t.period)
    assert got == pytest.approx(expect)
    assert t.fence_grace == pytest.approx(t.margin - t.allowance)


@pytest.mark.parametrize(
    ("since", "wait"),
    [(0, 6), (8.1, 6), (12, 6), (13, 5), (17.5, 0.5), (18, 0), (25, 0)],
)
def test_a_heartbeat_is_held_only_while_its_answer_can_beat_the_deadline(
    since: float, wait: float
) -> None:
    # lease 30: deadline 20 s after the last answered send, allowance 2 s
    assert lease_timing(lease=30).wait_for(since) == pytest.approx(wait)


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (
            {"lease": 30, "lost_after": 90, "interval": 30},
            ["heartbeat_interval (30s)", "lease_seconds=30s", "at most 8s", "20s after"],
        ),
        (
            {"lease": 90, "lost_after": 20, "interval": 30},
            ["heartbeat_interval (30s)", "worker_lost_after=20s", "at most 4.66s"],
        ),
        (
            {"lease": 90, "lost_after": 90, "ack_timeout": 1},
            ["ack_timeout (1s)", "at least 4s"],
        ),
        ({"lease": 90, "lost_after": 0.3}, ["worker_lost_after=0.3s", "no room for heartbeats"]),
    ],
)
def test_impossible_settings_are_refused_naming_the_settings_and_the_rule(
    settings: dict[str, float], words: list[str]
) -> None:
    with pytest.raises(LeaseSettingsError) as err:
        lease_timing(**settings)
    for word in words:
        assert word in str(err.value)


def test_every_broken_rule_is_listed() -> None:
    with pytest.raises(LeaseSettingsError) as err:
        lease_timing(lease=30, interval=30, ack_timeout=0.5)
    assert len(err.value.problems) == 2


def test_the_limit_an_error_shows_is_itself_allowed() -> None:
    for hold in (3, 4, 5, 6, 7, 13, 20, 29.9, 30, 31, 90, 1000):
        lease_timing(lease=hold, interval=max_interval(hold))


def test_a_refitted_timing_keeps_a_short_interval_and_shortens_a_long_one() -> None:
    assert lease_timing(lease=90, interval=2).fitted(30).interval == 2
    assert lease_timing(lease=90).fitted(30).interval == 8


holds = st.floats(min_value=1.01, max_value=100_000, allow_nan=False)


@given(lease=holds, lost_after=holds, share=st.floats(min_value=0.01, max_value=1))
def test_any_accepted_timing_is_safe_and_live(
    lease: float, lost_after: float, share: float
) -> None:
    try:
        t = lease_timing(lease=lease, lost_after=lost_after)
    except LeaseSettingsError:
        return
    interval = max(0.1, share * t.interval)  # any interval up to the longest allowed
    t = lease_timing(lease=lease, lost_after=lost_after, interval=interval)
    _check(t)


def _check(t: LeaseTiming) -> None:
    # self-fencing: killed at the deadline, SIGKILLed after the fence grace, dead an allowance
    # before the hold can end
    assert t.deadline + t.fence_grace + t.allowance <= t.hold + 1e-9
    assert t.fence_grace > 0
    # liveness, on the slowest network allowed: a heartbeat cycle (held, then answered) takes
    # at most the interval (or the allowance, if it is longer); the next heartbeat, sent when
    # the answer arrives, is itself answered two allowances before the deadline
    cycle = max(t.period, t.poll_wait + t.allowance)
    assert cycle <= max(t.interval, t.allowance) + 1e-9
    assert cycle + t.poll_wait + t.allowance + 2 * t.allowance <= t.deadline + 1e-9
    # a long-poll never pushes the proof of contact past the deadline
    for since in (0.0, t.interval, t.interval + t.allowance, t.deadline / 2, t.deadline):
        wait = t.wait_for(since)
        assert 0 <= wait <= t.poll_wait
        if wait > 0:
            assert since + wait + t.allowance <= t.deadline + 1e-9


@pytest.mark.parametrize(
    ("lease", "ack", "expect"),
    [
        # lease, ack_timeout → grace, confirm by, send by, dead by
        (90, 30, (8, 20, 10, 28)),  # the defaults
        (30, 4, (1, 1, 0.5, 2)),  # the shortest ack_timeout lease 30 allows
        (3, 2, (0.7, 1, 0.5, 1.7)),  # fast settings: the fence grace decides
    ],
)
def test_ack_window_table(lease: float, ack: float, expect: tuple[float, ...]) -> None:
    w = ack_window(ack, lease_timing(lease=lease))
    assert (w.grace, w.confirm_by, w.send_by, w.dead_by) == pytest.approx(expect)


@given(
    lease=st.floats(min_value=2, max_value=3600),
    extra=st.floats(min_value=0, max_value=600),
)
def test_an_unconfirmed_run_is_dead_an_allowance_before_its_claim_can_pass(
    lease: float, extra: float
) -> None:
    timing = lease_timing(lease=lease)
    ack = 2 * timing.allowance + extra
    w = ack_window(ack, timing)
    assert 0 < w.send_by < w.confirm_by
    assert w.grace > 0
    assert w.confirm_by + w.grace + timing.allowance <= ack + 1e-9


def test_an_ack_timeout_with_no_room_for_a_confirmation_is_refused() -> None:
    with pytest.raises(LeaseSettingsError, match=r"ack_timeout \(3s\).*at least 4s"):
        ack_window(3, lease_timing(lease=90))
