"""A real coordinator process on PostgreSQL + Redis, with fast timings for tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Cluster, cluster

FAST = {
    "heartbeat_interval": 0.5,
    "lease_seconds": 4,
    "worker_lost_after": 3,
    "ack_timeout": 3,
    "reaper_interval": 0.2,
    "scheduler_interval": 0.1,
    "claim_wait": 2,
}


@pytest.fixture
def tw(pg_database: str, redis_url: str, redis_prefix: str) -> Iterator[Cluster]:
    with cluster(pg_database, redis_url, redis_prefix, **FAST) as c:
        yield c
