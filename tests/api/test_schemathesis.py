"""Schemathesis over the committed OpenAPI document against a real coordinator process in
production mode: auth on (an admin token), PostgreSQL (where NUL and friends used to 500)
and Redis. For every operation, generated requests both valid and invalid must never get a
5xx, never a status the document does not list, and always a body of the documented shape.

Bounded: ``MAX_EXAMPLES`` per operation, derandomized so ``make test`` is repeatable; the
whole run takes about a minute here. Nothing is excluded: the operations that could wait
long are bounded by the server's settings instead (claims by ``TICKWORK_CLAIM_WAIT``;
heartbeat long-polls only ever reach unknown, generated worker ids, which answer 404 at
once), and the admin token in use cannot be revoked by a generated id (token ids are
random 16-character strings that generation does not guess).
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import PG_ADMIN, REDIS_URL, pg_url
from tests.integration.harness import Proc, base_env, free_port, wait_until
from tickwork.config import Settings
from tickwork.service.container import Container

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_path(DOCUMENT)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.xdist_group("schemathesis")]


class Coordinator:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}


def _admin_token(database_url: str) -> str:
    async def make() -> str:
        container = Container(Settings(database_url=database_url))
        await container.start(background=False)
        try:
            return (await container.tokens.create(name="schemathesis", role="admin"))[1]
        finally:
            await container.stop()

    return asyncio.run(make())


@pytest.fixture(scope="module")
def coordinator(pg_template: str) -> Iterator[Coordinator]:
    """One auth-on coordinator on a database of its own for every operation's examples."""
    name = f"tw_st_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    port = free_port()
    env = base_env(
        database_url=pg_url(name),
        redis_url=REDIS_URL,
        redis_prefix=f"twst:{name}",
        port=port,
        claim_wait=0.2,  # a generated claim may ask to long-poll for a minute
        dashboard="false",
    )
    proc = None
    try:
        token = _admin_token(pg_url(name))
        args = [sys.executable, "-m", "tickwork.cli.main", "server", "--log-level", "warning"]
        proc = Proc(args, env, "coordinator")
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _up(url) or proc.popen.poll() is not None, what="the coordinator")
        assert proc.popen.poll() is None, proc.output()
        yield Coordinator(url, token)
        assert "Traceback" not in proc.output(), proc.output()[-5000:]
    finally:
        if proc is not None:
            proc.stop()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_document(case: schemathesis.Case, coordinator: Coordinator) -> None:
    case.call_and_validate(
        base_url=coordinator.url, headers=coordinator.headers, checks=CHECKS, timeout=30
    )
