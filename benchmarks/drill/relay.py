"""TCP relays for the drill, on one asyncio loop in a thread of their own.

A ``Relay`` forwards each connection it accepts to the first upstream its ``pick`` offers
that answers. ``cut()`` partitions it silently: bytes already on their way are held, new
connections hang, nothing is refused or reset (as a blackholed link behaves; TCP would
retransmit), and ``heal()`` lets everything through again. ``drop(port)`` closes the
connections to one upstream, as a load balancer does when it marks a backend down.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Loop:
    """An asyncio event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Relay:
    def __init__(self, loop: Loop, name: str, pick: Callable[[], list[int]]) -> None:
        self.loop = loop
        self.name = name
        self.pick = pick
        self.port = 0
        self._open = asyncio.Event()
        self._open.set()
        self._links: set[tuple[int, asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._server: asyncio.Server | None = None

    def start(self) -> int:
        async def listen() -> int:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            return int(self._server.sockets[0].getsockname()[1])

        self.port = self.loop.call(listen())
        return self.port

    def cut(self) -> None:
        self.loop.loop.call_soon_threadsafe(self._open.clear)

    def heal(self) -> None:
        self.loop.loop.call_soon_threadsafe(self._open.set)

    def drop(self, upstream: int) -> None:
        async def close() -> None:
            for port, a, b in list(self._links):
                if port == upstream:
                    a.close()
                    b.close()

        self.loop.call(close())

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for _, a, b in list(self._links):
                a.close()
                b.close()

        with contextlib.suppress(Exception):
            self.loop.call(close())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._open.wait()
        for port in self.pick():
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            link = (port, writer, up_writer)
            self._links.add(link)
            try:
                await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
            finally:
                self._links.discard(link)
            return
        writer.close()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                await self._open.wait()  # a cut link holds what is in flight
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            dst.close()
