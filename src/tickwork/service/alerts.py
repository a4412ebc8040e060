"""Alerts: channels and rules of a namespace (use cases for the API, CLI and apply files),
and the leader's alert pass — it follows the event outbox, raises alerts into the alerts
outbox (deduplicated, in the transaction that moves its place), then delivers what is due,
retrying with backoff and holding a rule's excess for one digest (domain/alerts.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tickwork.config import Settings
from tickwork.domain.alerts import (
    Alert,
    Channel,
    DeliveryPolicy,
    NewAlert,
    Rule,
    alerts_for,
    check_channel,
    check_rule,
    digest_payload,
    raised_by,
    room_in_window,
)
from tickwork.domain.auth import ANONYMOUS_OPEN, Principal
from tickwork.domain.clock import Clock
from tickwork.domain.errors import NotFound
from tickwork.domain.namespaces import EVERY_NAMESPACE, NamespaceFilter
from tickwork.domain.runs import Event
from tickwork.store.base import Store

from .alert_channels import DeliveryError, Message, Senders, message_for
from .background import BackgroundService
from .events import RowCursor
from .metrics import Metrics

log = logging.getLogger(__name__)

ROWS = 2000
"""Outbox rows read per pass."""
DUE_PER_PASS = 200
"""Alerts delivered per pass at most (a backlog runs the pass again at once)."""
PARALLEL = 10
"""Deliveries in flight at once."""


def policy_of(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        max_attempts=settings.alert_max_attempts,
        rate_limit=settings.alert_rate_limit,
        rate_window=settings.alert_rate_window,
    )


@dataclass(frozen=True, slots=True)
class TestResult:
    ok: bool
    error: str | None
    seconds: float


class AlertService:
    """Channels and rules: every change needs admin in their namespace, every read read."""

    def __init__(self, store: Store, clock: Clock, senders: Senders, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.senders = senders
        self.settings = settings

    async def put_channel(
        self, ch: Channel, *, create: bool, who: Principal = ANONYMOUS_OPEN
    ) -> Channel:
        who.require("admin", ch.namespace)
        check_channel(ch)
        await self.store.alerts.channel_put(ch, create=create, now=self.clock.now())
        return ch

    async def delete_channel(
        self, namespace: str, name: str, *, who: Principal = ANONYMOUS_OPEN
    ) -> None:
        who.require("admin", namespace)
        await self.store.alerts.channel_delete(namespace, name, now=self.clock.now())

    async def channel(
        self, namespace: str, name: str, *, who: Principal = ANONYMOUS_OPEN
    ) -> Channel:
        who.require("read", namespace)
        found = await self.store.alerts.channel(namespace, name)
        if found is None:
            raise NotFound(f"no channel '{name}' in namespace '{namespace}'")
        return found

    async def channels(self, namespaces: NamespaceFilter) -> list[Channel]:
        return await self.store.alerts.channels(namespaces)

    async def test_channel(
        self, namespace: str, name: str, *, who: Principal = ANONYMOUS_OPEN
    ) -> TestResult:
        """Send a test message now (needs operate); the delivery's result, stored nowhere."""
        who.require("operate", namespace)
        ch = await self.channel(namespace, name)
        payload = {
            "event": "test",
            "namespace": namespace,
            "reason": f"a test of channel {name}",
            "at": self.clock.now().isoformat(),
        }
        started = time.monotonic()
        try:
            await self.senders.send(ch, message_for(payload, public_url=self.settings.public_url))
        except DeliveryError as exc:
            return TestResult(False, str(exc), time.monotonic() - started)
        return TestResult(True, None, time.monotonic() - started)

    async def put_rule(self, rule: Rule, *, create: bool, who: Principal = ANONYMOUS_OPEN) -> Rule:
        who.require("admin", rule.namespace)
        known = await self.store.alerts.channels(NamespaceFilter(only=frozenset({rule.namespace})))
        check_rule(rule, [c.name for c in known])
        await self.store.alerts.rule_put(rule, create=create, now=self.clock.now())
        return rule

    async def delete_rule(
        self, namespace: str, name: str, *, who: Principal = ANONYMOUS_OPEN
    ) -> None:
        who.require("admin", namespace)
        await self.store.alerts.rule_delete(namespace, name, now=self.clock.now())

    async def rule(self, namespace: str, name: str, *, who: Principal = ANONYMOUS_OPEN) -> Rule:
        who.require("read", namespace)
        found = await self.store.alerts.rule(namespace, name)
        if found is None:
            raise NotFound(f"no rule '{name}' in namespace '{namespace}'")
        return found

    async def rules(self, namespaces: NamespaceFilter) -> list[Rule]:
        return await self.store.alerts.rules(namespaces)

    async def list_alerts(
        self,
        namespaces: NamespaceFilter,
        *,
        status: str | None = None,
        rule: str | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> tuple[list[Alert], int | None]:
        """Alerts newest first and the ``before`` of the next page (None: the last)."""
        got = await self.store.alerts.page(
            namespaces=namespaces, status=status, rule=rule, limit=limit + 1, before=before
        )
        return got[:limit], got[limit - 1].id if len(got) > limit else None


class AlertPass(BackgroundService):
    """On the leader: raise alerts from the event outbox, then deliver what is due."""

    name = "alerts"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        senders: Senders,
        settings: Settings,
        is_leader: Callable[[], bool],
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(settings.alert_interval)
        self.store = store
        self.clock = clock
        self.senders = senders
        self.public_url = settings.public_url
        self.policy = policy_of(settings)
        self.is_leader = is_leader
        self.metrics = metrics or Metrics()
        self.keep = timedelta(days=settings.retain_runs_days)
        self.prune_every = timedelta(seconds=settings.prune_interval)
        self.prune_batch = settings.prune_batch
        self._cursor: RowCursor | None = None
        self._pruned_at: datetime | None = None

    async def on_stop(self) -> None:
        await self.senders.close()

    async def run_once(self) -> bool:
        if not self.is_leader():
            self._cursor = None
            return False
        more = await self.raise_from_outbox()
        more |= await self.deliver()
        await self.prune()
        return more

    async def prune(self) -> int:
        """Every ``TICKWORK_PRUNE_INTERVAL``: settled alerts and breaches older than
        ``TICKWORK_RETAIN_RUNS_DAYS`` go (one batch)."""
        now = self.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < self.prune_every:
            return 0
        self._pruned_at = now
        return await self.store.alerts.prune(
            before=now - self.keep, limit=self.prune_batch, now=now
        )

    # --- raising ----------------------------------------------------------------------

    async def raise_from_outbox(self) -> bool:
        """Alerts for the outbox rows past the stored place; whether more rows wait. With no
        rule anywhere the place moves to the outbox's end without reading it."""
        if self._cursor is None:
            at = await self.store.alerts.position()
            if at is None:
                return False
            self._cursor = RowCursor(at)
        cursor = self._cursor
        since = cursor.at
        rules = await self.store.alerts.rules(EVERY_NAMESPACE)
        if not rules:
            return await self._skip_to_end(since)
        batches = await self.store.events.batches_since(since, limit=ROWS)
        cursor.advance([row_id for row_id, _ in batches])
        if cursor.at == since:
            return False
        events = [e for row_id, evs in batches if row_id <= cursor.at for e in evs]
        new = await self._alerts_of(events, rules)
        if not await self.store.alerts.raise_alerts(
            new, since=since, upto=cursor.at, now=self.clock.now()
        ):
            log.warning("alerts: another coordinator moved the outbox place; re-reading it")
            self._cursor = None
            return False
        return len(batches) >= ROWS

    async def _skip_to_end(self, since: int) -> bool:
        last = await self.store.events.last_row()
        if last > since:
            moved = await self.store.alerts.raise_alerts(
                [], since=since, upto=last, now=self.clock.now()
            )
            self._cursor = RowCursor(last) if moved else None
        return False

    async def _alerts_of(self, events: Sequence[Event], rules: Sequence[Rule]) -> list[NewAlert]:
        relevant = [e for e in events if raised_by(e)]
        if not relevant:
            return []
        jobs = await self.store.alerts.job_infos([e.job_id for e in relevant if e.job_id])
        out: list[NewAlert] = []
        for e in relevant:
            job = jobs.get(e.job_id) if e.job_id else None
            out += alerts_for(e, job, rules, namespace=(e.data or {}).get("namespace"))
        return out

    # --- delivering -------------------------------------------------------------------

    async def deliver(self) -> bool:
        """Send what is due (holding what is over a rule's rate limit), then the digests
        whose rule has room again; whether more is due now."""
        now = self.clock.now()
        due = await self.store.alerts.due(now=now, limit=DUE_PER_PASS)
        channels = {
            (c.namespace, c.name): c for c in await self.store.alerts.channels(EVERY_NAMESPACE)
        }
        room: dict[tuple[str, str, str], int] = {}
        sending: list[tuple[list[Alert], Channel | None, Message]] = []
        for alert in due:
            key = (alert.namespace, alert.rule, alert.channel)
            if key not in room:
                room[key] = await self._room(key, now)
            if room[key] <= 0:
                await self.store.alerts.record(
                    [alert.id],
                    status="held",
                    error=None,
                    next_attempt_at=None,
                    counted=False,
                    now=now,
                )
                continue
            room[key] -= 1
            message = message_for(
                alert.payload, public_url=self.public_url, alert_id=alert.id, rule=alert.rule
            )
            sending.append(([alert], channels.get((alert.namespace, alert.channel)), message))
        sending += await self._digests(channels, room, now)
        gate = asyncio.Semaphore(PARALLEL)

        async def one(item: tuple[list[Alert], Channel | None, Message]) -> None:
            async with gate:
                await self._attempt(*item, now=now)

        await asyncio.gather(*(one(item) for item in sending))
        return len(due) >= DUE_PER_PASS

    async def _room(self, key: tuple[str, str, str], now: datetime) -> int:
        sent = await self.store.alerts.sent_since(*key, self.policy.window_start(now))
        return room_in_window(sent, self.policy)

    async def _digests(
        self,
        channels: dict[tuple[str, str], Channel],
        room: dict[tuple[str, str, str], int],
        now: datetime,
    ) -> list[tuple[list[Alert], Channel | None, Message]]:
        groups: dict[tuple[str, str, str], list[Alert]] = {}
        for alert in await self.store.alerts.held(limit=5000):
            groups.setdefault((alert.namespace, alert.rule, alert.channel), []).append(alert)
        out: list[tuple[list[Alert], Channel | None, Message]] = []
        for key, held in groups.items():
            if key not in room:
                room[key] = await self._room(key, now)
            if room[key] <= 0:
                continue
            room[key] -= 1
            message = Message(digest_payload(key[1], held), None, rule=key[1])
            out.append((held, channels.get((key[0], key[2])), message))
        return out

    async def _attempt(
        self, alerts: list[Alert], channel: Channel | None, message: Message, *, now: datetime
    ) -> None:
        first = alerts[0]
        digest = first.status == "held"
        error: str | None = None
        if channel is None:
            error = f"channel '{first.channel}' no longer exists"
        else:
            try:
                await self.senders.send(channel, message)
            except DeliveryError as exc:
                error = str(exc)
            except Exception as exc:  # a bug must not stop the other deliveries
                log.exception("alert %s: delivery raised", first.id)
                error = f"{type(exc).__name__}"
        kind = channel.type if channel else "none"
        self.metrics.alerts_delivered.labels(kind, "failed" if error else "sent").inc()
        ids = [a.id for a in alerts]
        expected = ("held",) if digest else ("pending",)
        if error is None:
            status = "digested" if digest else "sent"
            await self.store.alerts.record(
                ids, status=status, error=None, next_attempt_at=None, now=now, expected=expected
            )
            return
        log.warning("alert %s to channel %s not delivered: %s", first.id, first.channel, error)
        retry = None if digest else self.policy.retry_at(first.attempts + 1, now)
        status = "held" if digest else ("pending" if retry else "failed")
        await self.store.alerts.record(
            ids, status=status, error=error, next_attempt_at=retry, now=now, expected=expected
        )
