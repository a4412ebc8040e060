"""API tokens (stored only as hashes) and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.errors import NotFound
from tickwork.domain.records import AuditEntry, AuditNote, TokenRecord
from tickwork.store import tables as t
from tickwork.store.database import Database
from tickwork.store.dialect import insert_all

T = t.api_tokens.c
A = t.audit_log.c


def _token(row: Any) -> TokenRecord:
    return TokenRecord(
        row.id,
        row.name,
        row.role,
        row.created_at,
        row.expires_at,
        row.revoked_at,
        row.last_used_at,
        scopes=dict(row.scopes) if row.scopes else None,
        worker_tags=tuple(row.worker_tags) if row.worker_tags is not None else None,
        rate_limit=row.rate_limit,
    )


async def write_audit(
    conn: AsyncConnection, dialect: str, notes: Sequence[AuditNote], *, now: datetime
) -> None:
    """Audit entries, in the caller's transaction (one statement however many)."""
    rows = [
        {
            "at": now,
            "actor": n.actor,
            "role": n.role,
            "action": n.action,
            "target": n.target,
            "namespace": n.namespace,
            "details": n.details,
        }
        for n in notes
    ]
    await insert_all(conn, t.audit_log, rows, dialect_name=dialect)


class TokenRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, record: TokenRecord, *, digest: str, now: datetime) -> None:
        async with self.db.write(now) as (conn, _events):
            await conn.execute(
                sa.insert(t.api_tokens).values(
                    id=record.id,
                    name=record.name,
                    role=record.role,
                    hash=digest,
                    created_at=record.created_at,
                    expires_at=record.expires_at,
                    scopes=dict(record.scopes) if record.scopes else None,
                    worker_tags=list(record.worker_tags)
                    if record.worker_tags is not None
                    else None,
                    rate_limit=record.rate_limit,
                )
            )

    async def by_digest(self, digest: str) -> TokenRecord | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(t.api_tokens).where(T.hash == digest))).first()
        return _token(row) if row else None

    async def used(self, token_id: str, *, now: datetime) -> None:
        async with self.db.write(now) as (conn, _events):
            await conn.execute(
                sa.update(t.api_tokens).where(T.id == token_id).values(last_used_at=now)
            )

    async def revoke(self, token_id: str, *, now: datetime) -> None:
        async with self.db.write(now) as (conn, _events):
            res = await conn.execute(
                sa.update(t.api_tokens)
                .where(T.id == token_id)
                .values(revoked_at=sa.func.coalesce(T.revoked_at, now))
            )
            if res.rowcount == 0:
                raise NotFound(f"no token '{token_id}'")

    async def all(self) -> list[TokenRecord]:
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(t.api_tokens).order_by(T.created_at))).all()
        return [_token(r) for r in rows]

    async def count(self) -> int:
        async with self.db.read() as conn:
            return int(
                (
                    await conn.execute(sa.select(sa.func.count()).select_from(t.api_tokens))
                ).scalar_one()
            )


class AuditRows:
    """Who changed what: one row per write an operator or admin made."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        *,
        actor: str,
        role: str | None,
        action: str,
        target: str | None,
        details: dict[str, Any],
        now: datetime,
        namespace: str | None = None,
    ) -> None:
        async with self.db.write(now) as (conn, _events):
            note = AuditNote(actor, role, action, target, details, namespace)
            await write_audit(conn, self.db.dialect, [note], now=now)

    async def recent(
        self,
        *,
        limit: int,
        before: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        namespace: str | None = None,
    ) -> list[AuditEntry]:
        stmt = sa.select(t.audit_log).order_by(A.id.desc()).limit(limit)
        if namespace:
            stmt = stmt.where(A.namespace == namespace)
        if before is not None:
            stmt = stmt.where(A.id < before)
        if actor:
            stmt = stmt.where(A.actor == actor)
        if action:
            stmt = stmt.where(A.action == action)
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            AuditEntry(r.id, r.at, r.actor, r.role, r.action, r.target, r.details, r.namespace)
            for r in rows
        ]
