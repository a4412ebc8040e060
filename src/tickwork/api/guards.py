"""ASGI guards in front of every route: JSON-only writes and a request body cap."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickwork.api.errors import error_body

WRITE_METHODS = frozenset({b"POST", b"PUT", b"PATCH", b"DELETE"})


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
    """415 for a write whose Content-Type is not JSON (so a cross-site form post can never
    create or trigger a job); 413 for a body over the cap, counted as it streams in."""

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
        if method in WRITE_METHODS and ctype and ctype != b"application/json":
            await _reply(
                send,
                415,
                "unsupported_media_type",
                f"Content-Type must be application/json, not {ctype.decode()!r}",
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
