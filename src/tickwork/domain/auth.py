"""Roles, what each may do, and token format. Pure: no I/O."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from tickwork.domain.errors import Forbidden, ValidationError
from tickwork.domain.namespaces import ANY_NAMESPACE, NamespaceFilter, check_namespace

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
    """Who is calling: a token's id and name, and its role in each namespace.

    ``scopes`` maps a namespace (or ``*``, every namespace not named) to a role; a token
    made with one role has ``{"*": role}``. ``role`` is the ``*`` role, or the highest
    named one (kept for the audit log and for messages). ``worker_tags``, when set, are
    the only tags a worker using this token may register with.
    """

    token_id: str
    name: str
    role: str
    scopes: Mapping[str, str] = field(default_factory=dict)
    worker_tags: tuple[str, ...] | None = None
    rate_limit: int | None = None
    """Requests per second the token may make (None: the server's default)."""

    def role_in(self, namespace: str) -> str | None:
        scopes = self.scopes or {ANY_NAMESPACE: self.role}
        return scopes.get(namespace, scopes.get(ANY_NAMESPACE))

    def may(self, permission: str, namespace: str | None = None) -> bool:
        """Whether the token grants ``permission`` in ``namespace`` (None: in any one)."""
        if namespace is None:
            roles = (self.scopes or {ANY_NAMESPACE: self.role}).values()
            return any(permission in GRANTS.get(r, frozenset()) for r in roles)
        return permission in GRANTS.get(self.role_in(namespace) or "", frozenset())

    def require(self, permission: str, namespace: str) -> None:
        """Forbidden, naming the namespace and the permission, unless granted."""
        if not self.may(permission, namespace):
            raise forbidden(self, permission, namespace)

    def namespaces(self, permission: str) -> NamespaceFilter:
        """Where ``permission`` is granted, as a filter for lists."""
        scopes = self.scopes or {ANY_NAMESPACE: self.role}
        granted = {ns for ns, r in scopes.items() if permission in GRANTS.get(r, frozenset())}
        if ANY_NAMESPACE in granted:
            named = {ns for ns in scopes if ns != ANY_NAMESPACE}
            return NamespaceFilter(only=None, but=frozenset(named - granted))
        return NamespaceFilter(only=frozenset(granted), but=frozenset())


def forbidden(who: Principal, permission: str, namespace: str) -> Forbidden:
    """The refusal of ``permission`` in ``namespace``: which role the token holds there."""
    role = who.role_in(namespace)
    held = f"a {role} token" if role else "a token with no role"
    return Forbidden(
        f"{held} in namespace '{namespace}' may not do this (needs {permission})",
        details={"namespace": namespace, "role": role, "needs": permission},
    )


ANONYMOUS_OPEN = Principal(token_id="-", name="anonymous (auth off)", role="admin")

RANK = {"viewer": 1, "worker": 1, "operator": 2, "admin": 3}


def parse_scopes(scopes: Mapping[str, str]) -> dict[str, str]:
    """A token's scopes checked: namespace (or ``*``) → role (422 naming the entry)."""
    if not scopes:
        raise ValidationError("scopes", "must name at least one namespace (or '*')")
    out: dict[str, str] = {}
    for ns, role in scopes.items():
        if ns != ANY_NAMESPACE:
            check_namespace(ns, field=f"scopes.{ns}")
        if role not in ROLES:
            raise ValidationError(f"scopes.{ns}", f"must be one of {', '.join(ROLES)}")
        out[ns] = role
    return out


def headline_role(scopes: Mapping[str, str]) -> str:
    """The one role a scoped token shows where one is asked for: its ``*`` role, else the
    highest it holds anywhere."""
    if ANY_NAMESPACE in scopes:
        return scopes[ANY_NAMESPACE]
    return max(scopes.values(), key=lambda r: RANK.get(r, 0))


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
