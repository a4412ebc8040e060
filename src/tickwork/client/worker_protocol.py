"""Typed async client for the worker protocol (register, heartbeat, claim, report, deregister)."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from tickwork.client.errors import ApiError, NotRegisteredError, StaleFenceError
from tickwork.client.http import ApiTransport, RetryPolicy, TransportOwner
from tickwork.schemas.workers import (
    ClaimIn,
    ClaimOut,
    CompleteIn,
    HeartbeatIn,
    HeartbeatOut,
    LogIn,
    ReportIn,
    ReportOut,
    StartIn,
    WorkerRegisterIn,
    WorkerRegisterOut,
)

__all__ = ["WorkerProtocolClient"]

M = TypeVar("M", bound=BaseModel)


class WorkerProtocolClient(TransportOwner):
    """What a worker says to a coordinator, over one pooled HTTP client.

    Raises ``StaleFenceError`` (409 stale_fence), ``NotRegisteredError`` (404 on a worker
    endpoint), ``ApiError`` for other error answers and ``UnreachableError`` when retries ran out.
    Heartbeats, completions, starts and deregistration are retried on transport errors (the
    server treats repeats as no-ops); claims, registration and log chunks only when the request
    never left.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 10.0,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self._http = ApiTransport(
            base_url, token=token, timeout=timeout, retry=retry, transport=transport
        )

    async def register(self, body: WorkerRegisterIn) -> WorkerRegisterOut:
        response = await self._http.request("POST", "/api/workers", body=body)
        return _parse(WorkerRegisterOut, response)

    async def heartbeat(self, worker_id: str, body: HeartbeatIn) -> HeartbeatOut:
        response = await self._worker_call(
            "POST", worker_id, "/heartbeat", body, idempotent=True, wait=body.wait
        )
        return _parse(HeartbeatOut, response)

    async def claim(self, worker_id: str, body: ClaimIn) -> ClaimOut:
        response = await self._worker_call("POST", worker_id, "/claim", body, wait=body.wait)
        return _parse(ClaimOut, response)

    async def report(self, worker_id: str, body: ReportIn) -> ReportOut:
        """Starts, log chunks and completions in one request; per-item results.

        Repeated on transport errors only when it carries no log chunk (a repeated chunk would
        show twice in the run's output).
        """
        response = await self._worker_call(
            "POST", worker_id, "/report", body, idempotent=not body.logs
        )
        return _parse(ReportOut, response)

    async def deregister(self, worker_id: str) -> None:
        await self._worker_call("DELETE", worker_id, "", None, idempotent=True)

    async def start(self, run_id: str, body: StartIn) -> dict[str, Any]:
        return await self._run_call(run_id, "/start", body, idempotent=True)

    async def log(self, run_id: str, body: LogIn) -> dict[str, Any]:
        return await self._run_call(run_id, "/logs", body, idempotent=False)

    async def complete(self, run_id: str, body: CompleteIn) -> dict[str, Any]:
        return await self._run_call(run_id, "/complete", body, idempotent=True)

    async def _worker_call(
        self,
        method: str,
        worker_id: str,
        suffix: str,
        body: BaseModel | None,
        *,
        idempotent: bool = False,
        wait: float = 0.0,
    ) -> httpx.Response:
        path = f"/api/workers/{quote(worker_id, safe='')}{suffix}"
        try:
            return await self._http.request(
                method, path, body=body, idempotent=idempotent, wait=wait
            )
        except ApiError as exc:
            if exc.status == 404 and not isinstance(exc, StaleFenceError):
                raise NotRegisteredError(exc.status, exc.code, exc.message, exc.details) from exc
            raise

    async def _run_call(
        self, run_id: str, suffix: str, body: BaseModel, *, idempotent: bool
    ) -> dict[str, Any]:
        path = f"/api/runs/{quote(run_id, safe='')}{suffix}"
        response = await self._http.request("POST", path, body=body, idempotent=idempotent)
        if not response.content:
            return {}
        data = response.json()
        return data if isinstance(data, dict) else {"result": data}


def _parse(model: type[M], response: httpx.Response) -> M:
    return model.model_validate_json(response.content)
