"""ASGI guards in front of every route: JSON-only writes, a request body cap, and what a web
page on another site may not do (the Host allow-list, cross-site writes and WebSockets)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickwork.api.errors import error_body
from tickwork.config import WILDCARD_BINDS, Settings

WS_SUBPROTOCOL = "tickwork"
"""Offered by the dashboard's WebSockets and echoed by the server."""

WRITE_METHODS = frozenset({b"POST", b"PUT", b"PATCH", b"DELETE"})
JSON_ONLY = (b"application/json",)
PATCH_TYPES = (b"application/json", b"application/merge-patch+json")
"""A PATCH is a JSON Merge Patch (RFC 7396), under its own media type or as plain JSON."""


async def _reply(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class RequestGuard:
    """415 for a write whose Content-Type is not JSON (or, for a PATCH, a JSON Merge Patch:
    a form post can never create or trigger
    a job; bodiless cross-site writes are ``SiteGuard``'s); 413 for a body over the cap,
    counted as it streams in."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        method = scope["method"].encode()
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        accepted = PATCH_TYPES if method == b"PATCH" else JSON_ONLY
        if method in WRITE_METHODS and ctype and ctype not in accepted:
            await _reply(
                send,
                415,
                "unsupported_media_type",
                f"Content-Type must be {' or '.join(t.decode() for t in accepted)}, "
                f"not {ctype.decode()!r}",
            )
            return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _reply(
                send,
                413,
                "payload_too_large",
                f"request body is over the {self.max_body} byte limit",
            )
            return
        await self._counted(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0
        exceeded = False
        replied = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replied
            if not exceeded:
                await send(message)
            elif not replied:  # whatever the app made of the cut body, the answer is 413
                replied = True
                await _reply(
                    send,
                    413,
                    "payload_too_large",
                    f"request body is over the {self.max_body} byte limit",
                )

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            if not replied:
                await _reply(
                    send,
                    413,
                    "payload_too_large",
                    f"request body is over the {self.max_body} byte limit",
                )


# --- what a hostile web page could send --------------------------------------------------------
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
UNTRUSTED_SITES = frozenset({"cross-site", "same-site"})
HOST_HINT = "add the name to TICKWORK_ALLOWED_HOSTS"
ORIGIN_HINT = "trust an origin with TICKWORK_ALLOWED_ORIGINS"
SHORT_REASONS = {  # a WebSocket close reason holds at most 123 bytes
    "host_not_allowed": f"Host not allowed: {HOST_HINT}",
    "cross_site_request": f"cross-site WebSocket refused: {ORIGIN_HINT}",
}


def host_name(host: str) -> str:
    """The name in a Host header: ``Example.com:8000`` → ``example.com``, ``[::1]:80`` → ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """Which Host headers a server answers to: loopback names, a specific bind address and
    TICKWORK_ALLOWED_HOSTS (exact names, ``*.suffix`` for subdomains, ``*`` for any)."""

    names: frozenset[str]
    suffixes: tuple[str, ...] = ()
    anything: bool = False

    @classmethod
    def of(cls, settings: Settings) -> HostPolicy:
        listed = [host_name(h) for h in settings.allowed_hosts]
        names = {*LOOPBACK_HOSTS, *(n for n in listed if not n.startswith("*"))}
        if settings.host.strip() not in WILDCARD_BINDS:
            names.add(host_name(settings.host))
        suffixes = tuple(n[1:] for n in listed if n.startswith("*."))
        return cls(frozenset(names), suffixes, "*" in listed)

    def allows(self, host: str) -> bool:
        name = host_name(host)
        return (
            self.anything
            or name in self.names
            or bool(self.suffixes and name.endswith(self.suffixes))
        )


def cross_site(headers: Headers, trusted: frozenset[str]) -> str | None:
    """Why a request comes from a page on another site, or None. A request without Origin and
    Sec-Fetch-Site (curl, the CLI, a worker) is not a browser's and passes."""
    origin = headers.get("origin")
    if origin is not None and origin.strip().lower().rstrip("/") in trusted:
        return None
    site = headers.get("sec-fetch-site", "").strip().lower()
    if site in UNTRUSTED_SITES:
        return f"a {site} request (Sec-Fetch-Site: {site}) is refused"
    if origin is None:
        return None
    # host and port, not the scheme: behind a TLS-terminating proxy the server sees http
    if urlsplit(origin.strip().lower()).netloc != headers.get("host", "").strip().lower():
        return f"Origin {origin[:100]} is not this server's origin"
    return None


class SiteGuard:
    """Refuses, in every mode, what a web page on another site could make a browser send: a
    request for a Host this server does not answer to (DNS rebinding: a name the attacker owns,
    pointed at this machine), and a write or a WebSocket from another origin (cross-site request
    forgery, cross-site WebSocket hijacking). ``GET /api/health`` answers any Host, since load
    balancers and probes address a server by its IP; it holds no data."""

    def __init__(self, app: ASGIApp, *, hosts: HostPolicy, origins: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope) if scope["type"] in ("http", "websocket") else None
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await _reply(send, *refusal)
        else:
            status, code, _ = refusal
            await refuse_websocket(scope, receive, send, 4000 + status, SHORT_REASONS[code])

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self.hosts.allows(host) and not _probe(scope):
            return (
                400,
                "host_not_allowed",
                f"this server does not answer to Host {host[:100]!r}: {HOST_HINT}",
            )
        if scope["type"] == "websocket" or scope["method"] not in SAFE_METHODS:
            reason = cross_site(headers, self.origins)
            if reason is not None:
                message = f"{reason}: a page on another site may not act here; {ORIGIN_HINT}"
                return 403, "cross_site_request", message
        return None


def _probe(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] in ("GET", "HEAD")
        and scope["path"] == "/api/health"
    )


async def refuse_websocket(
    scope: Scope, receive: Receive, send: Send, code: int, reason: str
) -> None:
    """Accept, then close with ``code``: a browser reads a close code, never a refused handshake's
    status. The ``tickwork`` subprotocol is echoed when offered, or the browser drops the socket."""
    if (await receive())["type"] != "websocket.connect":
        return
    accept: Message = {"type": "websocket.accept"}
    if WS_SUBPROTOCOL in scope.get("subprotocols", ()):
        accept["subprotocol"] = WS_SUBPROTOCOL
    await send(accept)
    await send({"type": "websocket.close", "code": code, "reason": reason})
