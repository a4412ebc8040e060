"""A container on each backend, its background loops off (tests drive them)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container


@pytest.fixture
async def app(db_url: str, clock: FakeClock) -> AsyncIterator[Container]:
    c = Container(Settings(database_url=db_url), clock=clock)
    await c.start(background=False)
    yield c
    await c.stop()
