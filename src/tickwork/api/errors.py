"""Every error is JSON: {"error": {"code", "message", "details"}} with the right status."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickwork.domain.errors import RateLimited, TickworkError, Unavailable
from tickwork.domain.quotas import QuotaExceeded

log = logging.getLogger(__name__)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def _field(loc: tuple[Any, ...], *, brackets: bool = False) -> str:
    # the first part says where the value was (body, query …); a field may be named "body"
    parts = list(loc[1:]) if loc and loc[0] in _WHERE else list(loc)
    if brackets:  # tasks[1].command, as the pipelines' own checks name fields
        return (
            "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" if i else str(p)
                for i, p in enumerate(parts)
            )
            or "body"
        )
    return ".".join(str(p) for p in parts) or "body"


BRACKETED = ("/api/pipelines",)
"""Routes whose bodies' list items are named ``tasks[1]`` (not ``tasks.1``) in a 422."""


_WHERE = ("body", "query", "path", "header", "cookie")


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(
            400,
            "malformed_json",
            "the request body is not valid JSON",
            [{"field": "body", "message": str(e.get("msg"))} for e in errors],
        )
    details = []
    for e in errors:
        msg = str(e.get("msg"))
        if e.get("type") == "extra_forbidden":
            msg = "unknown field"
        bracketed = request.url.path.startswith(BRACKETED)
        field = _field(tuple(e.get("loc", ())), brackets=bracketed)
        inside = (e.get("ctx") or {}).get("at")  # a path inside a JSON value (schemas.fields)
        details.append({"field": f"{field}.{inside}" if inside else field, "message": msg})
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return error_response(422, "validation_error", summary, details)


def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TickworkError)
    if exc.status in (401, 403):
        log.warning("refused %s %s: %s", request.method, request.url.path, exc.message)
    headers = None
    if exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(exc, Unavailable | RateLimited | QuotaExceeded):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, QuotaExceeded):
        request.app.state.container.quotas.refused(exc.namespace, exc.quota)
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        415: "unsupported_media_type",
    }
    return error_response(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        str(exc.detail),
        headers=getattr(exc, "headers", None),
    )


def internal_error(scope: Scope, exc: BaseException) -> JSONResponse:
    """The answer to a defect: a JSON 500 with a request id and no traceback; the traceback
    goes to the server log under the same id."""
    request_id = uuid.uuid4().hex[:16]
    log.error(
        "internal error %s on %s %s",
        request_id,
        scope.get("method", "?"),
        scope.get("path", "?"),
        exc_info=exc,
    )
    return error_response(
        500,
        "internal",
        f"internal error (request id {request_id}; the server log has the details)",
        {"request_id": request_id},
        headers={"X-Request-Id": request_id},
    )


class LastResort:
    """Turns an exception no handler took into ``internal_error``'s answer, unless the
    response had already started (then the server closes the connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            await internal_error(scope, exc)(scope, receive, send)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return internal_error(request.scope, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(TickworkError, _domain)
    app.add_exception_handler(HTTPException, _http)
    # Routes: LastResort, the innermost middleware, answers and logs once. Exceptions from
    # the middlewares around it reach Starlette's outermost handler, which uses _unexpected.
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(LastResort)
