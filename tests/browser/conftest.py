"""Browser tests: Playwright (sync API) drives Debian's Chromium against a real coordinator
process on PostgreSQL + Redis, with a real worker process executing the jobs.

Scopes: Playwright, the browser and the shared cluster live for this *package*, not the session.
The sync API marks its event loop as the thread's running loop between calls, which would break
any pytest-asyncio test that ran later in the same process; package scope stops Playwright as soon
as the last browser test is done. Under ``--dist loadgroup`` all browser tests are one group, so
one xdist worker runs them back to back with one browser. Each test gets a fresh context.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from tests.conftest import PG_ADMIN, REDIS_URL, RUN_TAG, pg_url
from tests.integration.conftest import FAST
from tests.integration.harness import Cluster, base_env, cluster

CHROMIUM = os.environ.get("TICKWORK_TEST_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
JOBS_DIR = Path(__file__).resolve().parent / "jobs"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
STATIC = Path(__file__).resolve().parents[2] / "src" / "tickwork" / "static" / "index.html"

# auto-waiting assertions: generous enough for a loaded CI machine, never a fixed sleep
expect.set_options(timeout=15_000)


@contextlib.contextmanager
def fresh_database(template: str) -> Iterator[str]:
    """A PostgreSQL database cloned from the migrated template, dropped afterwards."""
    name = f"tw_{RUN_TAG}_br_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_redis_prefix() -> Iterator[str]:
    prefix = f"twtest:{RUN_TAG}:br{uuid.uuid4().hex[:8]}"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


@contextlib.contextmanager
def browser_cluster(template: str, **settings: Any) -> Iterator[Cluster]:
    """A coordinator (own database and Redis prefix) plus one worker that imports ``bjobs``."""
    with (
        fresh_database(template) as db,
        fresh_redis_prefix() as prefix,
        cluster(db, REDIS_URL, prefix, **{**FAST, **settings}) as c,
    ):
        c.start_worker(concurrency=4, extra=["--path", str(JOBS_DIR)])
        yield c


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not STATIC.exists():
        pytest.fail(f"the dashboard is not built ({STATIC}): run `make dashboard`", pytrace=False)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required at {CHROMIUM} (run `make chromium`)", pytrace=False)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="package")
def tw(pg_template: str) -> Iterator[Cluster]:
    """One coordinator + worker for the behaviour tests; each test uses job names of its own."""
    with browser_cluster(pg_template) as c:
        yield c


ROLES = ("viewer", "operator", "admin")


@dataclass
class Secured:
    """A coordinator with authentication on, one token per role (``worker`` runs the worker)."""

    cluster: Cluster
    tokens: dict[str, str]


def cli_token(database_url: str, role: str) -> str:
    """The first admin token, as an operator makes it: `tickwork tokens create` on the database."""
    done = subprocess.run(
        [sys.executable, "-m", "tickwork.cli.main", "tokens", "create", "--role", role, "--json"],
        env={**base_env(database_url=database_url), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return str(json.loads(done.stdout)["token"])


@pytest.fixture(scope="package")
def secured(pg_template: str) -> Iterator[Secured]:
    """A second cluster, with auth on: an admin token from the CLI, the others from the API."""
    with fresh_database(pg_template) as db, fresh_redis_prefix() as prefix:
        admin = cli_token(db, "admin")
        with cluster(db, REDIS_URL, prefix, **{**FAST, "auth": True}) as c:
            c.http.headers["Authorization"] = f"Bearer {admin}"
            tokens = {"admin": admin}
            for role in ("viewer", "operator", "worker"):
                made = c.http.post("/api/tokens", json={"name": f"{role}-token", "role": role})
                assert made.status_code == 201, made.text
                tokens[role] = made.json()["token"]
            c.start_worker(
                concurrency=4,
                extra=["--path", str(JOBS_DIR)],
                env={"TICKWORK_TOKEN": tokens["worker"]},
            )
            yield Secured(c, tokens)


class PageErrors(list[str]):
    """Uncaught exceptions in the page: any of them fails the test."""


def open_context(
    browser: Browser, base_url: str, viewport: ViewportSize = DESKTOP, **kw: Any
) -> BrowserContext:
    settings: dict[str, Any] = {
        "locale": "en-US",
        "timezone_id": "UTC",
        "color_scheme": "light",
        "reduced_motion": "reduce",
        **kw,
    }
    return browser.new_context(base_url=base_url, viewport=viewport, **settings)


def watch_errors(page: Page) -> PageErrors:
    errors = PageErrors()
    page.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}"))
    return errors


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


def dump_on_failure(request: pytest.FixtureRequest, tw: Cluster, pages: list[Page]) -> None:
    """After a failed test: the last process output, and a screenshot of each page."""
    if not request.node.stash.get(FAILED, False):
        return
    for proc in [*tw.coordinators, *tw.workers]:
        print(f"--- {proc.name} (last 40 lines) ---\n" + "\n".join(proc.lines[-40:]))
    for i, page in enumerate(pages):
        path = Path(tempfile.gettempdir()) / f"tickwork-{request.node.name}-{i}.png"
        with contextlib.suppress(PlaywrightError):
            page.screenshot(path=path)
            print(f"screenshot of {page.url}: {path}")


@contextlib.contextmanager
def pages_on(
    request: pytest.FixtureRequest, browser: Browser, tw: Cluster
) -> Iterator[Callable[..., Page]]:
    contexts: list[tuple[BrowserContext, PageErrors]] = []
    pages: list[Page] = []

    def make(viewport: ViewportSize = DESKTOP, **kw: Any) -> Page:
        context = open_context(browser, tw.url, viewport, **kw)
        page = context.new_page()
        contexts.append((context, watch_errors(page)))
        pages.append(page)
        return page

    yield make
    dump_on_failure(request, tw, pages)
    errors = [e for _, errs in contexts for e in errs]
    for context, _ in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def new_page(
    request: pytest.FixtureRequest, browser: Browser, tw: Cluster
) -> Iterator[Callable[..., Page]]:
    """Opens pages on ``tw`` in fresh contexts (desktop unless told); fails on page errors."""
    with pages_on(request, browser, tw) as make:
        yield make


@dataclass
class SecuredPages:
    """Opens pages on the secured cluster, signed in with ``token`` if given (as the sign-in
    page would leave it: in localStorage), and records every URL they request or connect to."""

    make: Callable[..., Page]
    urls: list[str] = field(default_factory=list)

    def __call__(self, token: str | None = None, viewport: ViewportSize = DESKTOP) -> Page:
        page = self.make(viewport)
        if token is not None:
            page.context.add_init_script(
                f"localStorage.setItem('tickwork.token', {json.dumps(token)})"
            )
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("websocket", lambda ws: self.urls.append(ws.url))
        return page


@pytest.fixture
def secured_pages(
    request: pytest.FixtureRequest, browser: Browser, secured: Secured
) -> Iterator[SecuredPages]:
    with pages_on(request, browser, secured.cluster) as make:
        pages = SecuredPages(make)
        yield pages
    leaked = [u for u in pages.urls for t in secured.tokens.values() if t in u]
    assert not leaked, f"URLs carrying a token: {leaked}"


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()
