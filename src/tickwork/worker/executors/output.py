"""Capturing a run's stdout/stderr through pipes read by the event loop as they are written.

The reading end is non-blocking and watched with ``add_reader``; nobody ever waits for EOF,
because a grandchild may keep a pipe open long after the run is over. Instead, once the writer is
known to be done (the shell exited, the python child sent its result), ``drain()`` takes whatever
is already in the pipe: a write that returned before the result was sent is in the pipe by then.
"""

from __future__ import annotations

import asyncio
import os

from tickwork.worker.executors.base import OutputSink, Stream, StreamDecoder

__all__ = ["OutputPair", "OutputPipe"]

_CHUNK = 65536
_READS_PER_WAKEUP = 4
"""Bounded so a chatty run cannot starve the event loop."""
_FINAL_DRAIN_LIMIT = 64 * 1024 * 1024
"""Bound the final drain: a surviving writer could otherwise keep it going forever."""


class OutputPipe:
    """One pipe: the child writes into ``write_fd``, the worker reads and decodes the other end."""

    def __init__(self, name: Stream) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self.decoder = StreamDecoder(name)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._eof = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.read_fd, self._on_readable)

    def close_write_end(self) -> None:
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def drain(self, limit: int = _FINAL_DRAIN_LIMIT) -> None:
        """Read everything already in the pipe (up to ``limit`` bytes) and pass it on."""
        taken = 0
        while taken < limit and (data := self._read()):
            taken += len(data)

    def close(self) -> None:
        self.close_write_end()
        if self.read_fd < 0:
            return
        self.drain()
        self.decoder.finish()
        self._stop_watching()
        os.close(self.read_fd)
        self.read_fd = -1

    def _on_readable(self) -> None:
        for _ in range(_READS_PER_WAKEUP):
            if not self._read():
                return

    def _read(self) -> bytes:
        if self._eof:
            return b""
        try:
            data = os.read(self.read_fd, _CHUNK)
        except BlockingIOError:
            return b""
        if not data:
            self._eof = True
            self._stop_watching()
            return b""
        self.decoder.feed(data)
        return data

    def _stop_watching(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.read_fd)
            self._loop = None


class OutputPair:
    """stdout and stderr of one process, delivered to whichever sink is current."""

    def __init__(self) -> None:
        self.stdout = OutputPipe("stdout")
        self.stderr = OutputPipe("stderr")

    @property
    def write_fds(self) -> tuple[int, int]:
        return self.stdout.write_fd, self.stderr.write_fd

    def start(self, sink: OutputSink | None = None) -> None:
        self.set_sink(sink)
        self.stdout.start()
        self.stderr.start()

    def set_sink(self, sink: OutputSink | None) -> None:
        self.stdout.decoder.sink = sink
        self.stderr.decoder.sink = sink

    def finish_run(self) -> None:
        """Deliver what is already written, flush partial characters, detach the sink."""
        for pipe in (self.stdout, self.stderr):
            pipe.drain()
            pipe.decoder.finish()
        self.set_sink(None)

    def close_write_ends(self) -> None:
        self.stdout.close_write_end()
        self.stderr.close_write_end()

    def close(self) -> None:
        self.stdout.close()
        self.stderr.close()
