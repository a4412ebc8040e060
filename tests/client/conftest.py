"""A served coordinator (SQLite, in-process uvicorn) and clients of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tickwork.client import AsyncClient, Client

from .served import Served, serve


@pytest.fixture
def server(sqlite_file: Path) -> Iterator[Served]:
    with serve(sqlite_file) as served:
        yield served


@pytest.fixture
def client(server: Served) -> Iterator[Client]:
    with Client(server.url, token="") as c:
        yield c


@pytest.fixture
async def aclient(server: Served) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(server.url, token="") as c:
        yield c
