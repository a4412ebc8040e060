from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from executor_helpers import JOBS_DIR, MakeExecutors, Output

from tickwork.worker.executors import Executors


@pytest.fixture
async def make_executors() -> AsyncIterator[MakeExecutors]:
    started: list[Executors] = []

    async def make(**options: Any) -> Executors:
        options = {"pool_size": 2, "grace_period": 0.5, "import_paths": [str(JOBS_DIR)], **options}
        executors = Executors(**options)
        started.append(executors)
        await executors.start()
        return executors

    yield make
    for executors in started:
        await executors.stop()


@pytest.fixture
async def executors(make_executors: MakeExecutors) -> Executors:
    return await make_executors()


@pytest.fixture
def output() -> Output:
    return Output()
