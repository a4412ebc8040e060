"""http jobs: one request from the worker's shared client, with the run's Idempotency-Key."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from tickwork.worker.executors.base import (
    ExecutionRequest,
    ExecutionResult,
    OutputSink,
    RunControl,
    cancel_quietly,
    deliver,
    wait_outcome,
)

__all__ = ["BODY_LIMIT", "HttpExecutor"]

BODY_LIMIT = 64 * 1024
"""Bytes of the response body kept in the result (and sent to stdout)."""


class HttpExecutor:
    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient()
        return self._client

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run(
        self, req: ExecutionRequest, on_output: OutputSink, control: RunControl
    ) -> ExecutionResult:
        spec = req.request or {}
        if not spec.get("url"):
            return ExecutionResult.failed("http job has no request url")
        sending = asyncio.ensure_future(self._send(req, spec, on_output))
        try:
            outcome = await wait_outcome(sending, req.timeout, control)
        finally:
            cancel_quietly(sending)
        if outcome != "done":
            return ExecutionResult.stopped(outcome, req.timeout)
        return sending.result()

    async def _send(
        self, req: ExecutionRequest, spec: Mapping[str, Any], on_output: OutputSink
    ) -> ExecutionResult:
        given = spec.get("timeout")
        limit = float(given) if isinstance(given, int | float) else req.timeout
        own = limit < req.timeout
        try:
            async with self.client.stream(
                str(spec.get("method") or "GET").upper(),
                str(spec["url"]),
                headers=_headers(spec, req.idempotency_key, req.upstream),
                timeout=limit,
                **_body(spec.get("body")),
            ) as response:
                body = await _read_limited(response)
        except httpx.TimeoutException:
            if own:  # the request's own limit: a failure of the attempt, retried as one
                return ExecutionResult.failed(f"the request took longer than {limit:g}s")
            return ExecutionResult.stopped("timed_out", req.timeout)
        except httpx.HTTPError as exc:
            return ExecutionResult.failed(f"{type(exc).__name__}: {exc}".rstrip(": "))
        if body:
            deliver(on_output, "stdout", body)
        result = {"status_code": response.status_code, "body": body}
        expected = spec.get("expect_status")
        if expected:
            if response.status_code in expected:
                return ExecutionResult(status="completed", exit_code=None, result=result)
            wanted = ", ".join(str(code) for code in expected)
            error = f"HTTP {response.status_code} (expected {wanted})"
            return ExecutionResult(status="failed", exit_code=None, result=result, error=error)
        if response.is_success:
            return ExecutionResult(status="completed", exit_code=None, result=result)
        return ExecutionResult(
            status="failed", exit_code=None, result=result, error=f"HTTP {response.status_code}"
        )


UPSTREAM_HEADER = "Tickwork-Upstream-Runs"
"""A run fired by its dependencies: the upstream runs' ids, comma-separated (an error's text
does not belong in a header; the receiver may read the runs through the API)."""


def _headers(
    spec: Mapping[str, Any], idempotency_key: str, upstream: Sequence[Mapping[str, Any]] = ()
) -> dict[str, str]:
    own = {"idempotency-key", UPSTREAM_HEADER.lower()}
    headers = {
        str(name): str(value)
        for name, value in (spec.get("headers") or {}).items()
        if str(name).lower() not in own
    }
    headers["Idempotency-Key"] = idempotency_key
    if upstream:
        headers[UPSTREAM_HEADER] = ",".join(str(u["run_id"]) for u in upstream)
    return headers


def _body(body: Any) -> dict[str, Any]:
    """httpx keyword for the body: a dict or list is sent as JSON, text and bytes as they are."""
    if body is None:
        return {}
    if isinstance(body, str | bytes):
        return {"content": body}
    return {"json": body}


async def _read_limited(response: httpx.Response) -> str:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= BODY_LIMIT:
            break
    encoding = response.charset_encoding or "utf-8"
    try:
        return bytes(data[:BODY_LIMIT]).decode(encoding, errors="replace")
    except LookupError:
        return bytes(data[:BODY_LIMIT]).decode("utf-8", errors="replace")
