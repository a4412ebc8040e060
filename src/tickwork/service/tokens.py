"""API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tickwork.domain import ids
from tickwork.domain.auth import (
    ROLES,
    Principal,
    new_token,
    token_digest,
    token_usable,
)
from tickwork.domain.clock import Clock
from tickwork.domain.errors import Unauthorized, ValidationError
from tickwork.domain.records import AuditEntry, TokenRecord
from tickwork.store.base import Store


class TokenService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._last_used: dict[str, datetime] = {}

    async def create(
        self, *, name: str, role: str, expires_in: timedelta | None = None
    ) -> tuple[TokenRecord, str]:
        """Make a token; the secret is returned once and only its digest is stored."""
        if role not in ROLES:
            raise ValidationError("role", f"must be one of {', '.join(ROLES)}")
        if not name.strip() or len(name) > 200:
            raise ValidationError("name", "must be 1 to 200 characters")
        if expires_in is not None and expires_in <= timedelta(0):
            raise ValidationError("expires_in", "must be in the future")
        now = self.clock.now()
        secret = new_token()
        record = TokenRecord(
            id=ids.short_id("tok", 10),
            name=name,
            role=role,
            created_at=now,
            expires_at=now + expires_in if expires_in else None,
            revoked_at=None,
            last_used_at=None,
        )
        await self.store.tokens.insert(record, digest=token_digest(secret), now=now)
        return record, secret

    async def authenticate(self, token: str) -> Principal:
        record = await self.store.tokens.by_digest(token_digest(token))
        if record is None:
            raise Unauthorized("unknown token")
        now = self.clock.now()
        problem = token_usable(expires_at=record.expires_at, revoked_at=record.revoked_at, now=now)
        if problem:
            raise Unauthorized(problem)
        last = self._last_used.get(record.id)
        if last is None or now - last > timedelta(minutes=1):  # one write a minute at most
            self._last_used[record.id] = now
            await self.store.tokens.used(record.id, now=now)
        return Principal(token_id=record.id, name=record.name, role=record.role)

    async def revoke(self, token_id: str) -> None:
        await self.store.tokens.revoke(token_id, now=self.clock.now())

    async def list_tokens(self) -> list[TokenRecord]:
        return await self.store.tokens.all()

    async def audit(
        self, principal: Principal, action: str, target: str | None, details: dict[str, Any]
    ) -> None:
        await self.store.audit.add(
            actor=principal.name,
            role=principal.role,
            action=action,
            target=target,
            details=details,
            now=self.clock.now(),
        )

    async def audit_log(
        self, *, limit: int, before: int | None, actor: str | None, action: str | None
    ) -> list[AuditEntry]:
        return await self.store.audit.recent(limit=limit, before=before, actor=actor, action=action)
