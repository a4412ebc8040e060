"""Compressed answers: brotli or gzip, as the client's Accept-Encoding allows.

JSON reads of 1 KB or more under /api are compressed as they leave (brotli quality 4, gzip
level 6: a few hundred microseconds for a page of runs). The worker protocol is not: its
answers are small and frequent, and a worker would spend CPU inflating every claim and
heartbeat answer to save bytes on a datacentre link (docs/performance.md has the figures).
Static files are compressed once and kept (``tickwork.api.static``).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable

import brotli
from fastapi.routing import APIRoute
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_SIZE = 1024
"""Smaller answers are sent as they are (compressing them saves less than a packet)."""

ENCODINGS = ("br", "gzip")
"""What tickwork sends, most preferred first."""


def accepted(header: str | None, offered: tuple[str, ...] = ENCODINGS) -> str | None:
    """The encoding to answer with for an Accept-Encoding header: the client's highest
    q-value among ``offered``, ties going to the first offered; None for identity."""
    best: tuple[float, int, str] | None = None
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        quality = _quality(params)
        for rank, coding in enumerate(offered):
            if quality > 0 and name in (coding, "*"):
                candidate = (quality, -rank, coding)
                if best is None or candidate > best:
                    best = candidate
    return best[2] if best else None


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def compress(data: bytes, encoding: str, *, static: bool = False) -> bytes:
    """``data`` encoded; static files (compressed once, kept) get the densest settings."""
    if encoding == "br":
        return bytes(brotli.compress(data, quality=11 if static else 4))
    return gzip.compress(data, compresslevel=9 if static else 6, mtime=0)


def is_worker_protocol(scope: Scope, work: Callable[[str], bool]) -> bool:
    route = scope.get("route")
    return isinstance(route, APIRoute) and work(route.unique_id)


class JsonCompression:
    """Compress whole JSON answers of GET requests under /api (never streamed ones, never the
    worker protocol's: ``work`` says which operation ids are)."""

    def __init__(self, app: ASGIApp, *, work: Callable[[str], bool]) -> None:
        self.app = app
        self.work = work

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith("/api/")
        ):
            await self.app(scope, receive, send)
            return
        encoding = accepted(Headers(scope=scope).get("accept-encoding"))
        if encoding is None:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        passing = False

        async def compressing(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
            elif message["type"] == "http.response.start":
                start = message
            elif message.get("more_body", False) or not self._wanted(scope, start, message):
                passing = True  # streamed, small or not JSON: as it is
                assert start is not None
                await send(start)
                await send(message)
            else:
                assert start is not None
                await self._send_compressed(send, start, message["body"], encoding)

        await self.app(scope, receive, compressing)

    def _wanted(self, scope: Scope, start: Message | None, message: Message) -> bool:
        if start is None or is_worker_protocol(scope, self.work):
            return False
        headers = Headers(raw=start["headers"])
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        return (
            ctype == "application/json"
            and "content-encoding" not in headers
            and len(message.get("body", b"")) >= MIN_SIZE
        )

    @staticmethod
    async def _send_compressed(send: Send, start: Message, body: bytes, encoding: str) -> None:
        packed = compress(body, encoding)
        headers = MutableHeaders(raw=list(start["headers"]))
        headers["content-encoding"] = encoding
        headers["content-length"] = str(len(packed))
        headers.add_vary_header("Accept-Encoding")
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": packed, "more_body": False})
