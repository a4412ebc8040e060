"""Roles, what each may do, and token format. Pure: no I/O."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Role = Literal["viewer", "operator", "admin", "worker"]
ROLES: tuple[str, ...] = ("viewer", "operator", "admin", "worker")
TOKEN_PREFIX = "tw_"

# What each role may do. "worker" tokens may use only the worker protocol.
GRANTS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "operator": frozenset({"read", "operate"}),
    "admin": frozenset({"read", "operate", "admin", "work"}),
    "worker": frozenset({"work"}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's id and name, and its role."""

    token_id: str
    name: str
    role: str

    def may(self, permission: str) -> bool:
        return permission in GRANTS.get(self.role, frozenset())


ANONYMOUS_OPEN = Principal(token_id="-", name="anonymous (auth off)", role="admin")


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Tokens are stored only as this SHA-256 digest (they are long random strings)."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_usable(
    *, expires_at: datetime | None, revoked_at: datetime | None, now: datetime
) -> str | None:
    """None when usable, else why not."""
    if revoked_at is not None:
        return "token revoked"
    if expires_at is not None and expires_at <= now:
        return "token expired"
    return None
