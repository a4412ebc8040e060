"""API tokens and the audit log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from tickwork.coord.base import Bus
from tickwork.domain import ids
from tickwork.domain.auth import (
    ROLES,
    Principal,
    headline_role,
    new_token,
    parse_scopes,
    token_digest,
    token_usable,
)
from tickwork.domain.clock import Clock
from tickwork.domain.errors import Unauthorized, ValidationError
from tickwork.domain.jobs import MAX_WORKER_TAGS
from tickwork.domain.namespaces import ANY_NAMESPACE
from tickwork.domain.records import AuditEntry, TokenRecord
from tickwork.store.base import Store

log = logging.getLogger(__name__)


REVOKED = "tokens:revoked"
"""The bus topic a revocation is announced on (the message: the token's id)."""

CACHE_MOST = 10_000
"""Tokens a coordinator keeps looked up at most (only tokens that exist are kept)."""


class TokenService:
    """Tokens are looked up by digest and trusted for ``cache_seconds`` (one query per token
    per interval, not per request); expiry is checked on every request, and a revocation
    drops the token from every coordinator's cache through the bus."""

    def __init__(
        self, store: Store, clock: Clock, *, bus: Bus | None = None, cache_seconds: float = 0.0
    ) -> None:
        self.store = store
        self.clock = clock
        self.bus = bus
        self.cache_seconds = cache_seconds
        self._last_used: dict[str, datetime] = {}
        self._known: dict[str, tuple[TokenRecord, float]] = {}  # digest → (record, looked up)
        self._listener: asyncio.Task[None] | None = None

    async def create(
        self,
        *,
        name: str,
        role: str | None = None,
        expires_in: timedelta | None = None,
        scopes: Mapping[str, str] | None = None,
        worker_tags: list[str] | None = None,
        rate_limit: int | None = None,
    ) -> tuple[TokenRecord, str]:
        """Make a token with one ``role`` (in every namespace) or ``scopes`` (a role per
        namespace, ``*`` for the rest); a worker token may be held to ``worker_tags``. The
        secret is returned once and only its digest is stored."""
        scoped = _scopes(role, scopes)
        role = headline_role(scoped)
        tags = _worker_tags(worker_tags)
        if not name.strip() or len(name) > 200:
            raise ValidationError("name", "must be 1 to 200 characters")
        if rate_limit is not None and not 1 <= rate_limit <= 1_000_000:
            raise ValidationError("rate_limit", "must be 1 to 1,000,000 requests per second")
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
            scopes=scoped if scopes is not None else None,
            worker_tags=tags,
            rate_limit=rate_limit,
        )
        await self.store.tokens.insert(record, digest=token_digest(secret), now=now)
        return record, secret

    async def authenticate(self, token: str) -> Principal:
        record = await self._lookup(token_digest(token))
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
        return Principal(
            token_id=record.id,
            name=record.name,
            role=record.role,
            scopes=dict(record.scopes or {ANY_NAMESPACE: record.role}),
            worker_tags=record.worker_tags,
            rate_limit=record.rate_limit,
        )

    async def _lookup(self, digest: str) -> TokenRecord | None:
        if self.cache_seconds > 0:
            known = self._known.get(digest)
            if known is not None and time.monotonic() - known[1] < self.cache_seconds:
                return known[0]
        record = await self.store.tokens.by_digest(digest)
        if record is not None and self.cache_seconds > 0:
            if len(self._known) >= CACHE_MOST:
                self._known.clear()
            self._known[digest] = (record, time.monotonic())
        return record

    def forget(self, token_id: str) -> None:
        """Drop a token from this coordinator's cache (it was revoked)."""
        self._known = {d: k for d, k in self._known.items() if k[0].id != token_id}

    async def revoke(self, token_id: str) -> None:
        await self.store.tokens.revoke(token_id, now=self.clock.now())
        self.forget(token_id)
        if self.bus is not None:
            try:
                await self.bus.publish(REVOKED, token_id)
            except Exception:  # the others still stop trusting it within cache_seconds
                log.warning("could not announce the revocation of %s", token_id, exc_info=True)

    def start(self) -> None:
        """Listen for revocations made on other coordinators."""
        if self.bus is not None and self.cache_seconds > 0 and self._listener is None:
            self._listener = asyncio.create_task(self._listen(self.bus), name="tickwork-tokens")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self, bus: Bus) -> None:
        while True:
            try:
                async with bus.subscribe(REVOKED) as sub:
                    while True:
                        token_id = await sub.wait(60)
                        if token_id:
                            self.forget(token_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: the cache's time limit still holds
                log.warning("token revocations: listening again shortly", exc_info=True)
                self._known.clear()
                await asyncio.sleep(1)

    async def list_tokens(self) -> list[TokenRecord]:
        return await self.store.tokens.all()

    async def audit(
        self,
        principal: Principal,
        action: str,
        target: str | None,
        details: dict[str, Any],
        namespace: str | None = None,
    ) -> None:
        await self.store.audit.add(
            actor=principal.name,
            role=principal.role,
            action=action,
            target=target,
            details=details,
            now=self.clock.now(),
            namespace=namespace,
        )

    async def audit_log(
        self,
        *,
        limit: int,
        before: int | None,
        actor: str | None,
        action: str | None,
        namespace: str | None = None,
    ) -> list[AuditEntry]:
        return await self.store.audit.recent(
            limit=limit, before=before, actor=actor, action=action, namespace=namespace
        )


def _scopes(role: str | None, scopes: Mapping[str, str] | None) -> dict[str, str]:
    """A token's roles by namespace: ``scopes``, or ``role`` in every namespace."""
    if (role is None) == (scopes is None):
        raise ValidationError("role", "give exactly one of role and scopes")
    if role is not None:
        if role not in ROLES:
            raise ValidationError("role", f"must be one of {', '.join(ROLES)}")
        return {ANY_NAMESPACE: role}
    return parse_scopes(scopes or {})


def _worker_tags(tags: list[str] | None) -> tuple[str, ...] | None:
    if tags is None:
        return None
    if not tags or len(tags) > MAX_WORKER_TAGS:
        raise ValidationError("worker_tags", f"must list 1 to {MAX_WORKER_TAGS} tags")
    return tuple(sorted(set(tags)))
