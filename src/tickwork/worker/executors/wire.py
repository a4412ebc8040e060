"""Length-prefixed JSON frames on the control socket between the worker and a python child."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Any

__all__ = ["encode_frame", "read_frame", "recv_frame", "send_frame"]

_HEADER = struct.Struct("!I")


def encode_frame(message: Any) -> bytes:
    """Raises TypeError/ValueError when ``message`` is not strict JSON (no NaN, no sets…)."""
    payload = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    return _HEADER.pack(len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """Raises ``asyncio.IncompleteReadError`` when the other side is gone."""
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return json.loads(await reader.readexactly(size))


def send_frame(sock: socket.socket, frame: bytes) -> None:
    sock.sendall(frame)


def recv_frame(sock: socket.socket) -> Any:
    """Blocking read of one frame; None when the worker closed the socket."""
    header = _recv_exactly(sock, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    payload = _recv_exactly(sock, size)
    return None if payload is None else json.loads(payload)


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)
