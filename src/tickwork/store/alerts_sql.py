"""Alert channels and rules of a namespace, and the alerts outbox the leader delivers from.

An alert is inserted at most once per (namespace, rule, channel, kind, subject) — the
unique key is the dedupe — in the same transaction that moves the alert pass's place in the
event outbox (``projections`` row ``alerts``), so a restart or a change of leader neither
loses nor repeats one. Delivery updates are conditional on the alert's status.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from tickwork.domain import ids
from tickwork.domain.alerts import Alert, Channel, JobInfo, NewAlert, Rule
from tickwork.domain.errors import Conflict, NotFound
from tickwork.domain.namespaces import NamespaceFilter
from tickwork.store import tables as t
from tickwork.store.database import Database
from tickwork.store.dialect import one_of
from tickwork.store.rows import alert_from_row, channel_config, channel_from_row, rule_from_row

C = t.alert_channels.c
R = t.alert_rules.c
AL = t.alerts.c
P = t.projections.c
J = t.jobs.c
POSITION = "alerts"
HISTORY_KEPT = 20
"""Delivery attempts kept on an alert (its ``attempts`` counts them all)."""


def _ns_where(column: Any, namespaces: NamespaceFilter, dialect: str) -> list[Any]:
    where: list[Any] = []
    if namespaces.only is not None:
        where.append(one_of(column, sorted(namespaces.only), dialect))
    if namespaces.but:
        where.append(column.notin_(sorted(namespaces.but)))
    return where


class AlertRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- channels ---------------------------------------------------------------------

    async def channel_put(self, ch: Channel, *, create: bool, now: datetime) -> None:
        """Create a channel (Conflict if the name is taken) or replace one (NotFound)."""
        values = {"type": ch.type, "config": channel_config(ch), "updated_at": now}
        async with self.db.write(now) as (conn, _events):
            if create:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            sa.insert(t.alert_channels).values(
                                id=ids.short_id("chan"),
                                namespace=ch.namespace,
                                name=ch.name,
                                created_at=now,
                                **values,
                            )
                        )
                except IntegrityError as exc:
                    raise Conflict(
                        f"a channel '{ch.name}' exists in namespace '{ch.namespace}'"
                    ) from exc
                return
            res = await conn.execute(
                sa.update(t.alert_channels)
                .where(C.namespace == ch.namespace, C.name == ch.name)
                .values(**values)
            )
            if res.rowcount == 0:
                raise NotFound(f"no channel '{ch.name}' in namespace '{ch.namespace}'")

    async def channel_delete(self, namespace: str, name: str, *, now: datetime) -> None:
        """Delete a channel; Conflict while a rule of its namespace sends to it."""
        async with self.db.write(now) as (conn, _events):
            rules = (
                await conn.execute(sa.select(t.alert_rules).where(R.namespace == namespace))
            ).all()
            users = sorted(r.name for r in rules if name in (r.channels or ()))
            if users:
                raise Conflict(
                    f"channel '{name}' is used by rules {', '.join(users)}",
                    details={"rules": users},
                )
            res = await conn.execute(
                sa.delete(t.alert_channels).where(C.namespace == namespace, C.name == name)
            )
            if res.rowcount == 0:
                raise NotFound(f"no channel '{name}' in namespace '{namespace}'")

    async def channel(self, namespace: str, name: str) -> Channel | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(t.alert_channels).where(C.namespace == namespace, C.name == name)
                )
            ).first()
        return channel_from_row(row) if row else None

    async def channels(self, namespaces: NamespaceFilter) -> list[Channel]:
        stmt = sa.select(t.alert_channels).where(
            *_ns_where(C.namespace, namespaces, self.db.dialect)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt.order_by(C.namespace, C.name))).all()
        return [channel_from_row(r) for r in rows]

    # --- rules ------------------------------------------------------------------------

    async def rule_put(self, rule: Rule, *, create: bool, now: datetime) -> None:
        """Create a rule (Conflict if taken) or replace one (NotFound); the caller checked
        its channels, and they are checked again here, in the transaction."""
        values = {
            "events": list(rule.events),
            "jobs": list(rule.jobs),
            "channels": list(rule.channels),
            "updated_at": now,
        }
        async with self.db.write(now) as (conn, _events):
            known = set(
                (
                    await conn.execute(sa.select(C.name).where(C.namespace == rule.namespace))
                ).scalars()
            )
            missing = [c for c in rule.channels if c not in known]
            if missing:
                raise Conflict(f"channel '{missing[0]}' was deleted meanwhile")
            if create:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            sa.insert(t.alert_rules).values(
                                id=ids.short_id("rule"),
                                namespace=rule.namespace,
                                name=rule.name,
                                created_at=now,
                                **values,
                            )
                        )
                except IntegrityError as exc:
                    raise Conflict(
                        f"a rule '{rule.name}' exists in namespace '{rule.namespace}'"
                    ) from exc
                return
            res = await conn.execute(
                sa.update(t.alert_rules)
                .where(R.namespace == rule.namespace, R.name == rule.name)
                .values(**values)
            )
            if res.rowcount == 0:
                raise NotFound(f"no rule '{rule.name}' in namespace '{rule.namespace}'")

    async def rule_delete(self, namespace: str, name: str, *, now: datetime) -> None:
        async with self.db.write(now) as (conn, _events):
            res = await conn.execute(
                sa.delete(t.alert_rules).where(R.namespace == namespace, R.name == name)
            )
            if res.rowcount == 0:
                raise NotFound(f"no rule '{name}' in namespace '{namespace}'")

    async def rule(self, namespace: str, name: str) -> Rule | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(t.alert_rules).where(R.namespace == namespace, R.name == name)
                )
            ).first()
        return rule_from_row(row) if row else None

    async def rules(self, namespaces: NamespaceFilter) -> list[Rule]:
        stmt = sa.select(t.alert_rules).where(*_ns_where(R.namespace, namespaces, self.db.dialect))
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt.order_by(R.namespace, R.name))).all()
        return [rule_from_row(r) for r in rows]

    # --- raising ----------------------------------------------------------------------

    async def position(self) -> int | None:
        """The outbox row the alert pass has read up to (None: not set up)."""
        async with self.db.read() as conn:
            return (
                await conn.execute(sa.select(P.row_id).where(P.name == POSITION))
            ).scalar_one_or_none()

    async def job_infos(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
        if not job_ids:
            return {}
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(J.id, J.name, J.namespace).where(
                        one_of(J.id, sorted(set(job_ids)), self.db.dialect)
                    )
                )
            ).all()
            tags = (
                (
                    await conn.execute(
                        sa.select(t.job_tags.c.job_id, t.job_tags.c.tag).where(
                            one_of(t.job_tags.c.job_id, [r.id for r in rows], self.db.dialect)
                        )
                    )
                ).all()
                if rows
                else []
            )
        by_job: dict[str, list[str]] = {}
        for job_id, tag in tags:
            by_job.setdefault(job_id, []).append(tag)
        return {
            r.id: JobInfo(r.id, r.name, r.namespace, tuple(sorted(by_job.get(r.id, ()))))
            for r in rows
        }

    async def raise_alerts(
        self, alerts: Sequence[NewAlert], *, since: int, upto: int, now: datetime
    ) -> bool:
        """Insert the alerts not raised before and move the pass's place from ``since`` to
        ``upto``, in one transaction; False (nothing written) when the place is no longer
        ``since`` (another leader read these rows meanwhile)."""
        async with self.db.write(now) as (conn, _events):
            moved = await conn.execute(
                sa.update(t.projections)
                .where(P.name == POSITION, P.row_id == since)
                .values(row_id=upto)
            )
            if moved.rowcount != 1:
                return False
            await self._insert(conn, alerts, now)
        return True

    async def add_alerts(self, alerts: Sequence[NewAlert], *, now: datetime) -> None:
        """Alerts raised outside the outbox pass (a channel's test message is not one)."""
        async with self.db.write(now) as (conn, _events):
            await self._insert(conn, alerts, now)

    async def _insert(self, conn: Any, alerts: Sequence[NewAlert], now: datetime) -> None:
        if not alerts:
            return
        module: Any = postgresql if self.db.dialect == "postgresql" else sqlite
        rows: list[dict[str, Any]] = [
            {
                "namespace": a.namespace,
                "rule": a.rule,
                "channel": a.channel,
                "kind": a.kind,
                "subject": a.subject[:255],
                "job_id": a.job_id,
                "run_id": a.run_id,
                "payload": dict(a.payload),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "history": [],
                "created_at": now,
            }
            for a in alerts
        ]
        await conn.execute(module.insert(t.alerts).on_conflict_do_nothing(), rows)

    # --- delivering -------------------------------------------------------------------

    async def due(self, *, now: datetime, limit: int) -> list[Alert]:
        """Pending alerts whose time has come, oldest first."""
        stmt = (
            sa.select(t.alerts)
            .where(AL.status == "pending", AL.next_attempt_at <= now)
            .order_by(AL.next_attempt_at, AL.id)
            .limit(limit)
        )
        async with self.db.read() as conn:
            return [alert_from_row(r) for r in (await conn.execute(stmt)).all()]

    async def held(self, *, limit: int) -> list[Alert]:
        stmt = sa.select(t.alerts).where(AL.status == "held").order_by(AL.id).limit(limit)
        async with self.db.read() as conn:
            return [alert_from_row(r) for r in (await conn.execute(stmt)).all()]

    async def sent_since(self, namespace: str, rule: str, channel: str, since: datetime) -> int:
        """Messages a rule's channel sent since then (a digest counts once)."""
        where = (AL.namespace == namespace, AL.rule == rule, AL.channel == channel)
        recent = AL.sent_at > since
        alone = sa.select(sa.func.count()).where(*where, recent, AL.status == "sent")
        digests = sa.select(sa.func.count(sa.distinct(AL.sent_at))).where(
            *where, recent, AL.status == "digested"
        )
        async with self.db.read() as conn:
            n = (await conn.execute(alone)).scalar_one()
            return int(n) + int((await conn.execute(digests)).scalar_one())

    async def record(
        self,
        alert_ids: Sequence[int],
        *,
        status: str,
        error: str | None,
        next_attempt_at: datetime | None,
        counted: bool = True,
        now: datetime,
        expected: Sequence[str] = ("pending",),
    ) -> int:
        """The outcome of delivering these alerts (one message: one alert, or a digest), as
        a conditional update from the ``expected`` statuses; rows changed."""
        if not alert_ids:
            return 0
        async with self.db.write(now) as (conn, _events):
            rows = (
                await conn.execute(
                    sa.select(AL.id, AL.history).where(
                        one_of(AL.id, list(alert_ids), self.db.dialect),
                        AL.status.in_(list(expected)),
                    )
                )
            ).all()
            changed = 0
            for row in rows:
                values: dict[str, Any] = {
                    "status": status,
                    "last_error": error[:500] if error else None,
                    "next_attempt_at": next_attempt_at,
                }
                if counted:
                    entry = {"at": now.isoformat(), "ok": error is None, "error": error}
                    values["history"] = [*(row.history or ()), entry][-HISTORY_KEPT:]
                    values["attempts"] = AL.attempts + 1
                if status in ("sent", "digested"):
                    values["sent_at"] = now
                res = await conn.execute(
                    sa.update(t.alerts)
                    .where(AL.id == row.id, AL.status.in_(list(expected)))
                    .values(**values)
                )
                changed += res.rowcount
        return changed

    async def page(
        self,
        *,
        namespaces: NamespaceFilter,
        status: str | None,
        rule: str | None,
        limit: int,
        before: int | None,
    ) -> list[Alert]:
        """Alerts newest first (keyset: ``before`` an id)."""
        stmt = sa.select(t.alerts).where(*_ns_where(AL.namespace, namespaces, self.db.dialect))
        if status:
            stmt = stmt.where(AL.status == status)
        if rule:
            stmt = stmt.where(AL.rule == rule)
        if before is not None:
            stmt = stmt.where(AL.id < before)
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt.order_by(AL.id.desc()).limit(limit))).all()
        return [alert_from_row(r) for r in rows]

    async def prune(self, *, before: datetime, limit: int, now: datetime) -> int:
        """Delete up to ``limit`` settled alerts (sent, failed, digested) raised before then,
        and breaches recorded before then; how many alerts went."""
        settled = AL.status.in_(["sent", "failed", "digested"])
        async with self.db.write(now) as (conn, _events):
            old = (
                (
                    await conn.execute(
                        sa.select(AL.id)
                        .where(AL.created_at < before, settled)
                        .order_by(AL.created_at)
                        .limit(limit)
                    )
                )
                .scalars()
                .all()
            )
            if old:
                await conn.execute(
                    sa.delete(t.alerts).where(one_of(AL.id, list(old), self.db.dialect), settled)
                )
            gone = (
                await conn.execute(
                    sa.select(t.breaches.c.kind, t.breaches.c.subject)
                    .where(t.breaches.c.at < before)
                    .order_by(t.breaches.c.at)
                    .limit(limit)
                )
            ).all()
            for kind, subject in gone:
                await conn.execute(
                    sa.delete(t.breaches).where(
                        t.breaches.c.kind == kind, t.breaches.c.subject == subject
                    )
                )
        return len(old)

    async def get(self, alert_id: int) -> Alert | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(t.alerts).where(AL.id == alert_id))).first()
        return alert_from_row(row) if row else None
