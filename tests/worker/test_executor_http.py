from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from executor_helpers import Output, make_request, wait_until

from tickwork.worker.executors import Executors
from tickwork.worker.executors.http import BODY_LIMIT


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class TinyServer:
    """Just enough HTTP/1.1 on 127.0.0.1 to see what the executor sends."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at teardown: lets /slow answer, so no handler is left hanging."""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            request = await self._read(reader)
            self.received.append(request)
            status, body = await self._route(request.path)
            head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
            writer.write(f"{head}Content-Type: text/plain; charset=utf-8\r\n\r\n".encode() + body)
            await writer.drain()
        finally:
            writer.close()
            self.handlers.discard(task)

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Received:
        method, path, _ = (await reader.readline()).decode().split(" ", 2)
        headers = {}
        while (line := (await reader.readline()).decode().strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Received(method, path, headers, body)

    async def _route(self, path: str) -> tuple[int, bytes]:
        if path == "/slow":
            await self.release.wait()
        if path == "/fail":
            return 503, b"down for maintenance"
        if path == "/big":
            return 200, b"y" * (BODY_LIMIT + 1000)
        return 200, b"hello"


@pytest.fixture
async def server() -> AsyncIterator[TinyServer]:
    tiny = TinyServer()
    listener = await asyncio.start_server(tiny.handle, "127.0.0.1", 0)
    tiny.port = listener.sockets[0].getsockname()[1]
    yield tiny
    listener.close()
    tiny.release.set()
    await asyncio.gather(*tiny.handlers, return_exceptions=True)
    await listener.wait_closed()


def http_request(url: str, **spec: object) -> dict[str, object]:
    return {"method": "GET", "url": url, **spec}


async def test_2xx_completes_with_status_and_body(
    executors: Executors, server: TinyServer, output: Output
) -> None:
    req = make_request("http", request=http_request(server.url("/ok")))

    result = await executors.execute(req, output)

    assert result.status == "completed"
    assert result.result == {"status_code": 200, "body": "hello"}
    assert output.text() == "hello"


async def test_idempotency_key_is_sent_and_the_same_on_retry(
    executors: Executors, server: TinyServer, output: Output
) -> None:
    spec = http_request(server.url("/ok"), headers={"Idempotency-Key": "forged", "X-Trace": "1"})
    first = make_request("http", request=spec, attempt=1, fence=1)
    retry = make_request(
        "http",
        request=spec,
        attempt=2,
        fence=2,
        run_id=first.run_id,
        idempotency_key=first.idempotency_key,
    )

    await executors.execute(first, output)
    await executors.execute(retry, output)

    keys = [received.headers["idempotency-key"] for received in server.received]
    assert keys == [first.idempotency_key, first.idempotency_key]
    assert server.received[0].headers["x-trace"] == "1"


async def test_dict_body_is_sent_as_json(
    executors: Executors, server: TinyServer, output: Output
) -> None:
    spec = http_request(server.url("/ok"), method="post", body={"report": "daily", "n": 2})

    result = await executors.execute(make_request("http", request=spec), output)

    assert result.status == "completed"
    received = server.received[0]
    assert received.method == "POST"
    assert received.headers["content-type"] == "application/json"
    assert json.loads(received.body) == {"report": "daily", "n": 2}


async def test_non_2xx_fails_with_the_status(
    executors: Executors, server: TinyServer, output: Output
) -> None:
    result = await executors.execute(
        make_request("http", request=http_request(server.url("/fail"))), output
    )

    assert result.status == "failed"
    assert result.error == "HTTP 503"
    assert result.result == {"status_code": 503, "body": "down for maintenance"}


async def test_long_bodies_are_truncated(
    executors: Executors, server: TinyServer, output: Output
) -> None:
    result = await executors.execute(
        make_request("http", request=http_request(server.url("/big"))), output
    )

    assert result.status == "completed"
    assert result.result["body"] == "y" * BODY_LIMIT


async def test_timeout(executors: Executors, server: TinyServer, output: Output) -> None:
    req = make_request("http", request=http_request(server.url("/slow")), timeout=0.3)

    result = await executors.execute(req, output)

    assert result.status == "timed_out"
    assert result.error == "timed out after 0.3s"


async def test_cancel(executors: Executors, server: TinyServer, output: Output) -> None:
    req = make_request("http", request=http_request(server.url("/slow")))
    running = asyncio.create_task(executors.execute(req, output))
    await wait_until(lambda: bool(server.received))  # the request reached the server

    assert await executors.cancel(req.run_id) is True
    result = await running

    assert result.status == "cancelled"


async def test_connection_errors_fail_with_the_message(
    executors: Executors, output: Output
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the request: nobody listens there

    result = await executors.execute(
        make_request("http", request=http_request(f"http://127.0.0.1:{port}/")), output
    )

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.startswith("ConnectError")


async def test_missing_url_fails(executors: Executors, output: Output) -> None:
    result = await executors.execute(make_request("http", request={"method": "GET"}), output)

    assert result.status == "failed"
    assert result.error == "http job has no request url"


async def test_the_expected_statuses_decide_success(
    executors: Executors, server: TinyServer, output: Output
) -> None:
    """``expect_status`` replaces "any 2xx": a 503 that is expected completes, a 200 that is
    not fails, naming what was expected."""
    down = make_request("http", request=http_request(server.url("/fail"), expect_status=[503, 504]))
    assert (await executors.execute(down, output)).status == "completed"
    ok = make_request("http", request=http_request(server.url("/ok"), expect_status=[201]))
    result = await executors.execute(ok, Output())
    assert (result.status, result.error) == ("failed", "HTTP 200 (expected 201)")


async def test_a_request_timeout_fails_the_attempt_before_the_jobs_timeout(
    executors: Executors, server: TinyServer, output: Output
) -> None:
    req = make_request("http", request=http_request(server.url("/slow"), timeout=0.2), timeout=30.0)
    result = await executors.execute(req, output)
    assert (result.status, result.error) == ("failed", "the request took longer than 0.2s")


async def test_a_run_fired_by_its_dependencies_names_them_in_a_header(
    executors: Executors, server: TinyServer, output: Output
) -> None:
    spec = http_request(server.url("/ok"), headers={"Tickwork-Upstream-Runs": "forged"})
    upstream = (
        {"run_id": "run-a", "job": "a", "status": "failed", "error": "boom\nsecond line"},
        {"run_id": "run-b", "job": "b", "status": "completed", "error": None},
    )
    await executors.execute(make_request("http", request=spec, upstream=upstream), output)
    await executors.execute(make_request("http", request=http_request(server.url("/ok"))), output)
    fired, plain = server.received
    assert fired.headers["tickwork-upstream-runs"] == "run-a,run-b"
    assert "tickwork-upstream-runs" not in plain.headers
