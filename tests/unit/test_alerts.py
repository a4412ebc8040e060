"""The pure rules of alerts and the watch pass: which events raise which alerts for which
rules, validation naming the field, masking, backoff, SLA breaches, silence and backlogs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tickwork.domain.alerts import (
    Channel,
    DeliveryPolicy,
    JobInfo,
    Rule,
    alerts_for,
    check_channel,
    check_rule,
    masked_url,
    raised_by,
    room_in_window,
    summary_line,
)
from tickwork.domain.errors import ValidationError
from tickwork.domain.runs import Event
from tickwork.domain.watch import RunTimes, WatchedJob, backlogs, silence, sla_breaches

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def event(
    type_: str, *, job: str | None = "job-1", run: str | None = "run-1", **data: object
) -> Event:
    return Event(id=7, type=type_, job_id=job, run_id=run, data=dict(data), created_at=NOW)


def test_each_event_raises_its_kinds_once_per_subject() -> None:
    assert [(r.kind, r.subject) for r in raised_by(event("run.failed", attempt=3))] == [
        ("run.failed", "run-1#3"),
        ("run.dead_lettered", "run-1#3"),
    ]
    assert [(r.kind, r.subject) for r in raised_by(event("run.retrying", attempt=1))] == [
        ("run.retrying", "run-1#1")
    ]
    assert [r.subject for r in raised_by(event("run.missed"))] == ["run-1"]
    assert [r.subject for r in raised_by(event("sla.breached", subject="run-1:max_duration"))] == [
        "run-1:max_duration"
    ]
    lost = event("worker.lost", job=None, run=None, worker="worker-a")
    assert [(r.kind, r.subject) for r in raised_by(lost)] == [("worker.lost", "worker-a")]
    assert raised_by(event("run.completed")) == []


def test_rules_match_jobs_by_name_tag_or_star_in_their_namespace() -> None:
    job = JobInfo("job-1", "payroll", "money", ("nightly", "finance"))
    rules = [
        Rule("by-tag", ("run.failed",), ("tag:finance",), ("ops",), "money"),
        Rule("by-name", ("run.failed", "run.dead_lettered"), ("payroll",), ("a", "b"), "money"),
        Rule("other-ns", ("run.failed",), ("*",), ("ops",), "default"),
        Rule("other-job", ("run.failed",), ("billing", "tag:x"), ("ops",), "money"),
        Rule("lost", ("worker.lost",), ("*",), ("ops",), "default"),
    ]
    got = alerts_for(event("run.failed", attempt=2, error_summary="boom"), job, rules)
    assert sorted((a.rule, a.channel, a.kind) for a in got) == [
        ("by-name", "a", "run.dead_lettered"),
        ("by-name", "a", "run.failed"),
        ("by-name", "b", "run.dead_lettered"),
        ("by-name", "b", "run.failed"),
        ("by-tag", "ops", "run.failed"),
    ]
    assert got[0].payload["job"] == "payroll" and got[0].payload["error_summary"] == "boom"
    lost = alerts_for(event("worker.lost", job=None, run=None, worker="w"), None, rules)
    assert [a.rule for a in lost] == ["lost"]  # a system event reaches every rule listing it
    backlog = Rule("q", ("queue.backlog",), ("*",), ("ops",), "money")
    queued = event("queue.backlog", job=None, run=None, namespace="money", subject="money@x")
    assert len(alerts_for(queued, None, [backlog], namespace="money")) == 1
    assert alerts_for(queued, None, [backlog], namespace="default") == []


@pytest.mark.parametrize(
    ("channel", "field"),
    [
        (Channel("x", "webhook"), "url"),
        (Channel("x", "webhook", url="mailto:a@b"), "url"),
        (Channel("x", "webhook", url={"$secret": "1bad"}), "url"),
        (Channel("x", "slack", url="https://h/p", secret="s"), "secret"),
        (Channel("x", "email"), "to"),
        (Channel("x", "email", to=("a@b", "nope")), "to.1"),
        (Channel("x", "email", url="https://h/p", to=("a@b",)), "url"),
        (Channel("no spaces", "slack", url="https://h/p"), "name"),
    ],
)
def test_a_bad_channel_names_its_field(channel: Channel, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        check_channel(channel)
    assert exc.value.field == field


def test_a_rule_names_an_unknown_event_or_channel() -> None:
    with pytest.raises(ValidationError) as exc:
        check_rule(Rule("r", ("run.failed", "run.exploded"), ("*",), ("ops",)), ["ops"])
    assert exc.value.field == "events.1"
    with pytest.raises(ValidationError) as exc:
        check_rule(Rule("r", ("run.failed",), ("*",), ("ops", "gone")), ["ops"])
    assert (exc.value.field, exc.value.reason) == (
        "channels.1",
        "no channel 'gone' in namespace 'default'",
    )
    with pytest.raises(ValidationError) as exc:
        check_rule(Rule("r", ("run.failed",), ("tag:",), ("ops",)), ["ops"])
    assert exc.value.field == "jobs.0"


def test_urls_are_shown_by_host_only() -> None:
    assert (
        masked_url("https://hooks.slack.com/services/T0/B0/XYZ?x=1") == "https://hooks.slack.com/…"
    )
    assert masked_url("https://user:pw@example.com:8443/p") == "https://example.com/…"
    assert masked_url({"$secret": "HOOK"}) == {"$secret": "HOOK"}
    assert masked_url(None) is None


def test_backoff_doubles_to_a_cap_then_gives_up() -> None:
    policy = DeliveryPolicy(max_attempts=12, first_delay=5, max_delay=900)
    delays = [(policy.retry_at(n, NOW) - NOW).total_seconds() for n in range(1, 11)]  # type: ignore[operator]
    assert delays == [5, 10, 20, 40, 80, 160, 320, 640, 900, 900]
    assert policy.retry_at(12, NOW) is None
    assert room_in_window(3, DeliveryPolicy(rate_limit=10)) == 7
    assert room_in_window(12, DeliveryPolicy(rate_limit=10)) == 0


def test_summary_lines() -> None:
    assert summary_line(
        {"event": "run.failed", "job": "pay", "attempt": 2, "error_summary": "x"}
    ) == ("run.failed: pay (attempt 2): x")
    assert summary_line({"event": "worker.lost", "worker": "w-1"}) == "worker.lost: w-1"


JOB = WatchedJob("job-1", "pay", "default", NOW - timedelta(days=3), 600, 300, 3600)


def run(**kw: object) -> RunTimes:
    base: dict[str, object] = {
        "id": "run-1",
        "status": "running",
        "queued_at": NOW - timedelta(seconds=100),
    }
    return RunTimes(**{**base, **kw})  # type: ignore[arg-type]


def test_sla_breaches_of_runs() -> None:
    late = run(scheduled_for=NOW - timedelta(seconds=700), started_at=NOW - timedelta(seconds=650))
    kinds = {(b.kind, b.subject) for b in sla_breaches(JOB, [late], NOW)}
    assert kinds == {("finish_within", "run-1"), ("max_duration", "run-1")}
    on_time = run(
        status="completed",
        started_at=NOW - timedelta(seconds=90),
        finished_at=NOW - timedelta(seconds=30),
    )
    assert sla_breaches(JOB, [on_time], NOW) == []
    finished_late = run(
        status="completed",
        queued_at=NOW - timedelta(seconds=1000),
        started_at=NOW - timedelta(seconds=700),
        finished_at=NOW - timedelta(seconds=350),
    )
    assert {b.kind for b in sla_breaches(JOB, [finished_late], NOW)} == {
        "finish_within",
        "max_duration",
    }
    queued = run(status="queued", queued_at=NOW - timedelta(seconds=601))
    assert [b.kind for b in sla_breaches(JOB, [queued], NOW)] == ["finish_within"]


def test_a_silent_job_breaches_once_per_spell() -> None:
    assert silence(JOB, NOW - timedelta(minutes=59), NOW) is None
    spell = silence(JOB, NOW - timedelta(minutes=61), NOW)
    assert spell is not None and spell.kind == "silent"
    later = silence(JOB, NOW - timedelta(minutes=61), NOW + timedelta(hours=5))
    assert later is not None and later.subject == spell.subject  # the same spell
    never = silence(JOB, None, NOW)
    assert never is not None and never.data["since"] == JOB.created_at.isoformat()


def test_backlogs_over_the_threshold_once_an_hour() -> None:
    got = backlogs({"a": 5, "b": 50}, 10, NOW)
    assert [(b.kind, b.data["namespace"], b.data["queued"]) for b in got] == [("backlog", "b", 50)]
    assert backlogs({"b": 50}, 10, NOW + timedelta(minutes=30))[0].subject == got[0].subject
    assert backlogs({"b": 50}, 10, NOW + timedelta(hours=1))[0].subject != got[0].subject
    assert backlogs({"b": 50}, None, NOW) == []
