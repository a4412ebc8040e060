"""The HTTP layer every tickwork client shares: auth, timeouts, retries and error mapping.

``ApiTransport`` sends requests and turns error answers into ``ApiError`` subclasses with
``error_from_response``; the worker protocol client and the user-facing client both build on it.
"""

from __future__ import annotations

import asyncio
import json as json_module
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel

from tickwork import __version__
from tickwork.client.errors import ApiError, StaleFenceError, UnreachableError, error_type

__all__ = [
    "ERROR_TYPES",
    "ApiTransport",
    "RetryPolicy",
    "TransportOwner",
    "error_from_response",
    "typed_error_from_response",
]

ERROR_TYPES: dict[str, type[ApiError]] = {"stale_fence": StaleFenceError}
"""Error ``code`` → exception class; a client may register more of its own."""

_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
    429: "rate_limited",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}

_RETRY_STATUSES = frozenset({429, 502, 503, 504})

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before the request left: always safe to repeat."""

Params = Mapping[str, str | int | float | bool | list[str] | None]
"""Query parameters; ``None`` values are left out, a list repeats the parameter."""
ErrorMapper = Callable[[httpx.Response], ApiError]


def error_from_response(response: httpx.Response) -> ApiError:
    """The exception for an error answer: ``{"error": {"code", "message", "details"}}``.

    Bodies in another shape (FastAPI's ``{"detail": …}``, a proxy's HTML page) still give an
    ``ApiError`` with a code derived from the status.
    """
    code, message, details = _parse_error(response)
    cls = ERROR_TYPES.get(code, ApiError)
    return cls(response.status_code, code, message, details, retry_after=retry_after(response))


def typed_error_from_response(response: httpx.Response) -> ApiError:
    """Like ``error_from_response``, but the class follows the status too (``NotFoundError``,
    ``ValidationError`` …); the user-facing client raises these."""
    code, message, details = _parse_error(response)
    cls = error_type(response.status_code, code)
    return cls(response.status_code, code, message, details, retry_after=retry_after(response))


MAX_RETRY_AFTER = 60.0
"""The longest wait a ``Retry-After`` header can ask of a client."""


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a 503 or 429 answer's ``Retry-After`` (seconds or an HTTP date),
    at most ``MAX_RETRY_AFTER``; None when there is none or it cannot be read."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _parse_error(response: httpx.Response) -> tuple[str, str, Any]:
    fallback = _DEFAULT_CODES.get(response.status_code, f"http_{response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = str(error.get("code") or fallback)
            return code, str(error.get("message") or code), error.get("details")
        if "detail" in body:
            return fallback, _describe(body["detail"]), body["detail"]
    text = response.text.strip()[:500]
    return fallback, text or response.reason_phrase or fallback, None


def _describe(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("msg", detail[0]))
    return str(detail)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with jitter for requests that failed in transit."""

    attempts: int = 4
    base_delay: float = 0.1
    max_delay: float = 2.0

    def delay(self, retry: int, at_least: float | None = None) -> float:
        """Seconds before retry number ``retry`` (0-based): 0.1, 0.2, 0.4 … capped, ±50 %.

        ``at_least`` is the server's ``Retry-After``: the wait is then that long plus up to
        half as much again, so clients told the same time do not come back together.
        """
        capped = min(self.max_delay, self.base_delay * 2.0 ** min(retry, 32))
        backoff = capped * (0.5 + random.random())  # jitter, not security
        if at_least is None:
            return backoff
        return max(backoff, at_least * (1.0 + random.random() / 2))


class ApiTransport:
    """One ``httpx.AsyncClient`` plus tickwork's conventions on top of it."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        errors: ErrorMapper = error_from_response,
    ) -> None:
        headers = {"User-Agent": f"tickwork/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.errors = errors
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        json: Any = None,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
        wait: float = 0.0,
        allow: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send one request; a 2xx answer is returned, an error answer raised as ``ApiError``.

        The body is a pydantic model (``body``) or any JSON value (``json``); ``params`` become
        the query string and ``allow`` lists error statuses returned instead of raised.
        Transport failures are retried with backoff when the request never left, or when it
        is ``idempotent``; so are 502/503/504 answers to an ``idempotent`` request and 429
        answers (never applied) to any, waiting at least what ``Retry-After`` asks.
        ``wait`` is a server-side long-poll added to the read timeout.
        """
        outgoing = _Outgoing(method, path, _content(body, json), _query(params), headers, wait)
        retries = max(self.retry.attempts, 1)
        for attempt in range(retries):
            last = attempt + 1 >= retries
            try:
                response = await self._send(outgoing)
            except httpx.TransportError as exc:
                sent = not isinstance(exc, _NOT_SENT)
                if last or (sent and not idempotent):
                    raise _unreachable(method, path, exc, sent) from exc
                hint = None
            else:
                status = response.status_code
                again = status == 429 or (idempotent and status in _RETRY_STATUSES)
                if last or not again or status in allow:
                    return self._checked(response, allow)
                hint = retry_after(response)
            await asyncio.sleep(self.retry.delay(attempt, hint))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, out: _Outgoing) -> httpx.Response:
        timeout = httpx.Timeout(self.timeout, read=self.timeout + out.wait)
        headers = dict(out.headers or {})
        if out.content is not None:
            headers.setdefault("Content-Type", "application/json")
        return await self._client.request(
            out.method,
            out.path,
            content=out.content,
            params=out.params,
            headers=headers or None,
            timeout=timeout,
        )

    def _checked(self, response: httpx.Response, allow: frozenset[int]) -> httpx.Response:
        if response.is_error and response.status_code not in allow:
            raise self.errors(response)
        return response


@dataclass(frozen=True, slots=True)
class _Outgoing:
    method: str
    path: str
    content: str | None
    params: httpx.QueryParams | None
    headers: Mapping[str, str] | None
    wait: float


def _content(body: BaseModel | None, data: Any) -> str | None:
    if body is not None:
        return body.model_dump_json()
    if data is not None:
        return json_module.dumps(data, separators=(",", ":"))
    return None


def _query(params: Params | None) -> httpx.QueryParams | None:
    if not params:
        return None
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for key, value in params.items():
        items = value if isinstance(value, list) else [value]
        pairs.extend((key, _text(item)) for item in items if item is not None)
    return httpx.QueryParams(pairs)


def _text(value: str | int | float | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _unreachable(method: str, path: str, exc: Exception, sent: bool) -> UnreachableError:
    reason = str(exc) or type(exc).__name__
    return UnreachableError(f"{method} {path}: {reason}", maybe_applied=sent)


class TransportOwner:
    """An async context manager that closes the ``ApiTransport`` it owns (``self._http``)."""

    _http: ApiTransport

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
