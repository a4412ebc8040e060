from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import FAST
from tests.integration.harness import Cluster, cluster


@pytest.fixture
def tw(pg_database: str, redis_url: str, redis_prefix: str) -> Iterator[Cluster]:
    with cluster(pg_database, redis_url, redis_prefix, **FAST) as c:
        yield c
