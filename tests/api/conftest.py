"""An API client on a real container (no network): SQLite by default, PostgreSQL on request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings(database_url=sqlite_url, max_body_bytes=64 * 1024)


@pytest.fixture
async def container(settings: Settings, clock: FakeClock) -> AsyncIterator[Container]:
    c = Container(settings, clock=clock)
    await c.start(background=False)
    yield c
    await c.stop()


@pytest.fixture
async def api(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


async def count_finished(container: Container) -> None:
    """What the leader's run-totals pass does in the background (these containers run no
    background services): fold the finished runs so far into the totals stats read."""
    container.totals.is_leader = lambda: True
    while await container.totals.run_once():
        pass
