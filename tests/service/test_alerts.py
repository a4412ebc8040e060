"""Alerts end to end on each backend: events of the outbox raise alerts by rule, the leader
delivers them through a real local webhook receiver and a real local SMTP server, once each,
retried with backoff, rate-limited with a digest, and a delivery survives a restart."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tickwork.config import Settings
from tickwork.domain.alerts import Channel, NewAlert, Rule
from tickwork.domain.clock import FakeClock
from tickwork.domain.runs import Completion
from tickwork.service.container import Container
from tickwork.testing import job_spec

from ..receivers import HttpReceiver, SmtpServer

PUBLIC = "https://tickwork.example.com"
SECRET = "s3cret-signing-key"


def settings_for(db_url: str, smtp: SmtpServer, **more: Any) -> Settings:
    return Settings(
        database_url=db_url,
        public_url=PUBLIC,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_starttls=False,
        smtp_from="tickwork@example.com",
        **more,
    )


async def started(settings: Settings, clock: FakeClock) -> Container:
    c = Container(settings, clock=clock)
    await c.start(background=False)
    c.alert_pass.is_leader = lambda: True
    c.watcher.is_leader = lambda: True
    return c


@pytest.fixture
async def app(db_url: str, clock: FakeClock, smtp_server: SmtpServer) -> AsyncIterator[Container]:
    c = await started(settings_for(db_url, smtp_server, alert_rate_limit=3), clock)
    yield c
    await c.stop()


async def hook(c: Container, receiver: HttpReceiver, namespace: str = "default") -> None:
    await c.alerts.put_channel(
        Channel("hook", "webhook", namespace, url=f"{receiver.url}/hook", secret=SECRET),
        create=True,
    )


async def rule(c: Container, events: list[str], **kw: Any) -> None:
    await c.alerts.put_rule(
        Rule(
            kw.pop("name", "r"),
            tuple(events),
            channels=tuple(kw.pop("channels", ("hook",))),
            **kw,
        ),
        create=True,
    )


async def fail_once(c: Container, run_id: str) -> None:
    worker = await c.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=5, version="t"
    )
    got = [a for a in await c.workers.claim(worker.id, limit=5, wait=0) if a.run_id == run_id]
    assert got, f"{run_id} was not claimable"
    await c.workers.complete_one(Completion(run_id, got[0].fence, "failed", error="boom"))


async def deliver(c: Container) -> None:
    while await c.alert_pass.run_once():
        pass


async def test_a_failing_run_alerts_every_channel_type_once(
    app: Container, clock: FakeClock, webhook_receiver: HttpReceiver, smtp_server: SmtpServer
) -> None:
    await hook(app, webhook_receiver)
    await app.alerts.put_channel(
        Channel("chat", "slack", url=f"{webhook_receiver.url}/slack"), create=True
    )
    await app.alerts.put_channel(Channel("mail", "email", to=("oncall@example.com",)), create=True)
    await rule(
        app,
        ["run.retrying", "run.failed", "run.dead_lettered"],
        jobs=("tag:payroll",),
        channels=("hook", "chat", "mail"),
    )
    job = await app.jobs.create(job_spec("nightly", retries=1, retry_delay=1, tags=("payroll",)))
    other = await app.jobs.create(job_spec("unwatched", retries=0))
    run_id, _, _ = await app.jobs.trigger(job.id)
    await fail_once(app, run_id)
    other_run, _, _ = await app.jobs.trigger(other.id)
    await fail_once(app, other_run)
    clock.advance(5)
    await fail_once(app, run_id)
    await deliver(app)
    await deliver(app)  # again: nothing new

    hooks = [r for r in webhook_receiver.received if r.path == "/hook"]
    assert sorted(r.json()["event"] for r in hooks) == [
        "run.dead_lettered",
        "run.failed",
        "run.retrying",
    ]
    for r in hooks:
        expected = hmac.new(SECRET.encode(), r.body, hashlib.sha256).hexdigest()
        assert r.headers["X-Tickwork-Signature"] == f"sha256={expected}"
        assert r.json()["link"] == f"{PUBLIC}/runs/{run_id}"
        assert r.json()["payload"]["job"] == "nightly"
    slack = [r.json() for r in webhook_receiver.received if r.path == "/slack"]
    assert len(slack) == 3
    assert all(f"<{PUBLIC}/runs/{run_id}|open run>" in s["text"] for s in slack)
    assert any("run.failed: nightly (attempt 2): boom" in s["text"] for s in slack)
    assert len(smtp_server.messages) == 3
    mail = smtp_server.messages[0]
    assert mail["To"] == "oncall@example.com" and mail["From"] == "tickwork@example.com"
    assert f"{PUBLIC}/runs/{run_id}" in mail.get_payload()
    alerts, _ = await app.alerts.list_alerts(app_filter())
    assert len(alerts) == 9 and {a.status for a in alerts} == {"sent"}
    assert all(a.run_id == run_id for a in alerts)


def app_filter() -> Any:
    from tickwork.domain.namespaces import EVERY_NAMESPACE

    return EVERY_NAMESPACE


async def test_an_alert_is_raised_once_per_rule_channel_and_subject(
    app: Container, webhook_receiver: HttpReceiver
) -> None:
    await hook(app, webhook_receiver)
    await rule(app, ["run.failed"])
    one = NewAlert("default", "r", "hook", "run.failed", "run-x#1", None, "run-x", {"event": "x"})
    await app.store.alerts.add_alerts([one, one], now=app.clock.now())
    await app.store.alerts.add_alerts([one], now=app.clock.now())
    await deliver(app)
    assert len(webhook_receiver.received) == 1
    alerts, _ = await app.alerts.list_alerts(app_filter())
    assert [(a.subject, a.status, a.attempts) for a in alerts] == [("run-x#1", "sent", 1)]


async def test_a_failed_delivery_is_retried_with_backoff_then_marked_failed(
    db_url: str, clock: FakeClock, smtp_server: SmtpServer, webhook_receiver: HttpReceiver
) -> None:
    c = await started(settings_for(db_url, smtp_server, alert_max_attempts=3), clock)
    try:
        await hook(c, webhook_receiver)
        await rule(c, ["run.failed"])
        job = await c.jobs.create(job_spec("flaky", retries=0))
        run_id, _, _ = await c.jobs.trigger(job.id)
        await fail_once(c, run_id)
        webhook_receiver.status = 503
        await deliver(c)
        [a] = (await c.alerts.list_alerts(app_filter()))[0]
        assert (a.status, a.attempts, a.last_error) == (
            "pending",
            1,
            "HTTP 503 from http://127.0.0.1/…",
        )
        assert a.next_attempt_at == clock.now().replace() + (a.next_attempt_at - clock.now())
        assert (a.next_attempt_at - clock.now()).total_seconds() == 5
        await deliver(c)  # not due yet
        assert len(webhook_receiver.received) == 1
        clock.advance(5)
        await deliver(c)
        [a] = (await c.alerts.list_alerts(app_filter()))[0]
        assert (a.attempts, (a.next_attempt_at - clock.now()).total_seconds()) == (2, 10)
        clock.advance(10)
        await deliver(c)
        [a] = (await c.alerts.list_alerts(app_filter()))[0]
        assert (a.status, a.attempts, a.next_attempt_at) == ("failed", 3, None)
        assert [h["ok"] for h in a.history] == [False, False, False]
        assert webhook_receiver.url.split("//")[1] not in (a.last_error or "")
    finally:
        await c.stop()


async def test_a_rule_over_its_rate_limit_sends_one_digest(
    app: Container, clock: FakeClock, webhook_receiver: HttpReceiver
) -> None:
    await hook(app, webhook_receiver)
    await rule(app, ["run.failed"])
    job = await app.jobs.create(job_spec("storm", retries=0, on_overlap="allow", concurrency=10))
    for i in range(7):
        run_id, _, _ = await app.jobs.trigger(job.id, idempotency_key=f"k{i}")
        await fail_once(app, run_id)
    await deliver(app)
    assert len(webhook_receiver.received) == 3  # the limit
    alerts, _ = await app.alerts.list_alerts(app_filter())
    assert sorted(a.status for a in alerts) == ["held"] * 4 + ["sent"] * 3
    clock.advance(100)
    await deliver(app)
    assert len(webhook_receiver.received) == 3  # still within the window
    clock.advance(201)
    await deliver(app)
    assert len(webhook_receiver.received) == 4
    digest = webhook_receiver.received[-1].json()
    assert digest["event"] == "digest" and digest["payload"]["count"] == 4
    assert digest["summary"] == "digest: 4 alerts of rule r held back by its rate limit"
    alerts, _ = await app.alerts.list_alerts(app_filter())
    assert sorted(a.status for a in alerts) == ["digested"] * 4 + ["sent"] * 3


async def test_an_alert_survives_a_coordinator_restart(
    db_url: str, clock: FakeClock, smtp_server: SmtpServer, webhook_receiver: HttpReceiver
) -> None:
    settings = settings_for(db_url, smtp_server)
    first = await started(settings, clock)
    await hook(first, webhook_receiver)
    await rule(first, ["run.failed"])
    job = await first.jobs.create(job_spec("nightly", retries=0))
    raised, _, _ = await first.jobs.trigger(job.id)
    await fail_once(first, raised)
    await first.alert_pass.raise_from_outbox()  # raised, not yet delivered
    unseen, _, _ = await first.jobs.trigger(job.id, idempotency_key="second")
    await fail_once(first, unseen)  # its event is in the outbox, no pass has read it
    await first.stop()
    assert webhook_receiver.received == []

    second = await started(settings, clock)
    try:
        await deliver(second)
        assert sorted(r.json()["payload"]["run_id"] for r in webhook_receiver.received) == sorted(
            [raised, unseen]
        )
        await deliver(second)
        assert len(webhook_receiver.received) == 2
    finally:
        await second.stop()


async def test_a_rule_sees_only_its_namespace(
    app: Container, webhook_receiver: HttpReceiver
) -> None:
    await hook(app, webhook_receiver, namespace="payments")
    await rule(app, ["run.failed"], namespace="payments")
    theirs = await app.jobs.create(job_spec("same-name", retries=0, namespace="other"))
    ours = await app.jobs.create(job_spec("same-name", retries=0, namespace="payments"))
    for job in (theirs, ours):
        run_id, _, _ = await app.jobs.trigger(job.id)
        await fail_once(app, run_id)
    await deliver(app)
    [got] = webhook_receiver.received
    assert got.json()["payload"]["namespace"] == "payments"


async def test_missed_runs_and_lost_workers_alert(
    app: Container, clock: FakeClock, webhook_receiver: HttpReceiver
) -> None:
    await hook(app, webhook_receiver)
    await rule(app, ["run.missed", "worker.lost"])
    job = await app.jobs.create(job_spec("late", start_deadline=10))
    run_id, _, _ = await app.jobs.trigger(job.id)
    worker = await app.workers.register(
        hostname="h", pid=1, tags=["elsewhere"], concurrency=1, version="t"
    )
    clock.advance(app.settings.worker_lost_after + 1)
    await app.reaper.run_once()
    await deliver(app)
    got = {r.json()["event"]: r.json() for r in webhook_receiver.received}
    assert set(got) == {"run.missed", "worker.lost"}
    assert got["run.missed"]["link"] == f"{PUBLIC}/runs/{run_id}"
    assert got["worker.lost"]["payload"]["worker"] == worker.id
    assert got["worker.lost"]["link"] is None


async def test_sla_breaches_silent_jobs_and_backlogs_alert_once(
    db_url: str, clock: FakeClock, smtp_server: SmtpServer, webhook_receiver: HttpReceiver
) -> None:
    c = await started(settings_for(db_url, smtp_server, alert_backlog_threshold=1), clock)
    try:
        await hook(c, webhook_receiver)
        await rule(c, ["sla.breached", "job.silent", "queue.backlog"])
        slow = await c.jobs.create(
            job_spec("slow", sla_finish_within=60, sla_max_duration=30, on_overlap="allow")
        )
        quiet = await c.jobs.create(job_spec("quiet", expect_every="2h", worker_tags=("none",)))
        run_id, _, _ = await c.jobs.trigger(slow.id)
        await c.jobs.trigger(slow.id, idempotency_key="another")
        await c.jobs.trigger(quiet.id)  # no worker serves it: two runs queued
        worker = await c.workers.register(
            hostname="h", pid=1, tags=["default"], concurrency=1, version="t"
        )
        [claimed] = await c.workers.claim(worker.id, limit=1, wait=0)
        await c.workers.start_one(claimed.run_id, worker.id, claimed.fence)
        clock.advance(31)
        first = await c.watcher.check()
        assert {(b.kind, b.run_id) for b in first} == {
            ("max_duration", claimed.run_id),
            ("backlog", None),
        }
        clock.advance(30)
        second = await c.watcher.check()
        assert {b.kind for b in second} == {"finish_within"}  # both runs: due 60s after queued
        assert len(second) == 2
        clock.advance(2 * 3600)
        third = await c.watcher.check()
        assert {(b.kind, b.job_id) for b in third} >= {("silent", quiet.id)}
        assert [b for b in await c.watcher.check() if b.kind == "silent"] == []
        await deliver(c)
        events = sorted(r.json()["event"] for r in webhook_receiver.received)
        assert events.count("sla.breached") == 3
        assert events.count("job.silent") == 1
        assert events.count("queue.backlog") >= 1
        metrics = c.metrics.render().decode()
        assert 'tickwork_sla_breaches_total{job="slow",kind="max_duration"} 1.0' in metrics
        assert 'tickwork_sla_breaches_total{job="slow",kind="finish_within"} 2.0' in metrics
        assert 'tickwork_sla_breaches_total{job="quiet",kind="silent"} 1.0' in metrics
        history = await c.store.events.history(limit=50, types=["sla.breached"])
        assert {e.run_id for e in history} >= {run_id}
    finally:
        await c.stop()


async def test_a_webhook_url_never_reaches_the_log(
    app: Container, webhook_receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # httpx logs each request's url at INFO
    secret_path = "/services/T0/B0/VERYSECRETPATH"
    await app.alerts.put_channel(
        Channel("hook", "webhook", url=f"{webhook_receiver.url}{secret_path}"), create=True
    )
    await rule(app, ["run.failed"])
    job = await app.jobs.create(job_spec("noisy", retries=0))
    run_id, _, _ = await app.jobs.trigger(job.id)
    await fail_once(app, run_id)
    await deliver(app)
    webhook_receiver.status = 500
    result = await app.alerts.test_channel("default", "hook")
    assert [r.path for r in webhook_receiver.received] == [secret_path, secret_path]
    assert result.error == "HTTP 500 from http://127.0.0.1/…"
    assert "VERYSECRETPATH" not in caplog.text
    assert [r for r in caplog.records if r.name == "httpx"] == []  # its request lines dropped


async def test_settled_alerts_go_after_the_run_retention(
    app: Container, clock: FakeClock, webhook_receiver: HttpReceiver
) -> None:
    await hook(app, webhook_receiver)
    await rule(app, ["run.failed"])
    one = NewAlert("default", "r", "hook", "run.failed", "run-old#1", None, "run-old", {})
    two = NewAlert("default", "r", "hook", "run.failed", "run-new#1", None, "run-new", {})
    await app.store.alerts.add_alerts([one], now=clock.now())
    await deliver(app)
    clock.advance(app.settings.retain_runs_days * 86400 + 1)
    await app.store.alerts.add_alerts([two], now=clock.now())
    assert await app.alert_pass.prune() == 1
    assert await app.alert_pass.prune() == 0  # not again before the prune interval
    left, _ = await app.alerts.list_alerts(app_filter())
    assert [a.subject for a in left] == ["run-new#1"]


async def test_with_no_rule_the_outbox_is_skipped_and_a_later_rule_sees_only_what_follows(
    app: Container, webhook_receiver: HttpReceiver
) -> None:
    job = await app.jobs.create(job_spec("before", retries=0))
    early, _, _ = await app.jobs.trigger(job.id)
    await fail_once(app, early)
    await deliver(app)  # no rule: the place moves to the end
    assert await app.store.alerts.position() == await app.store.events.last_row()
    await hook(app, webhook_receiver)
    await rule(app, ["run.failed"])
    late, _, _ = await app.jobs.trigger(job.id, idempotency_key="later")
    await fail_once(app, late)
    await deliver(app)
    assert [r.json()["payload"]["run_id"] for r in webhook_receiver.received] == [late]
