"""What a web page can and cannot do to a coordinator (issue 8, items 1 and 6).

The dashboard shell opens without a token; the API and the event stream stay guarded; a page
on another site cannot write (Origin / Sec-Fetch-Site), a rebound DNS name cannot reach the
server at all (Host allow-list), and a token is never read from a URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import tickwork.api.app as app_module
from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container
from tickwork.testing import job_payload

WS = "ws://localhost"  # the test client's own default host, testserver, is not allowed
INDEX = "<!doctype html><title>tickwork</title><div id=root></div>"


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A built dashboard of two files, served in place of the real build."""
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text(INDEX)
    (static / "assets" / "app.js").write_text("console.log('tickwork')")
    monkeypatch.setattr(app_module, "STATIC", static)
    return static


@contextlib.asynccontextmanager
async def served(settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    c = Container(settings, clock=clock)
    await c.start(background=False)
    transport = httpx.ASGITransport(app=create_app(c, manage_lifecycle=False))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield client
    finally:
        await c.stop()


@pytest.fixture
async def open_api(sqlite_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with served(Settings(database_url=sqlite_url, auth=False), clock) as client:
        yield client


# --- item 1: the page shell holds no data --------------------------------------------------
async def test_the_dashboard_shell_needs_no_token_but_the_api_does(
    shell: Path, sqlite_url: str, clock: FakeClock
) -> None:
    async with served(Settings(database_url=sqlite_url, auth=True), clock) as api:
        for path in ("/", "/jobs", "/runs/run-abc", "/jobs/nightly/edit", "/audit"):
            page = await api.get(path)
            assert page.status_code == 200, (path, page.text)
            assert page.headers["content-type"].startswith("text/html")
            assert page.text == INDEX
        asset = await api.get("/assets/app.js")
        assert asset.status_code == 200 and "tickwork" in asset.text
        for path in ("/api/jobs", "/api/stats", "/api/auth/whoami", "/metrics"):
            guarded = await api.get(path)
            assert guarded.status_code == 401, (path, guarded.text)
        missing = await api.get("/api/no-such-route")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        # the fallback serves pages, it does not answer writes
        assert (await api.post("/jobs")).status_code == 405


# --- item 6: cross-site writes ----------------------------------------------------------------
CROSS_SITE: list[dict[str, str]] = [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "http://localhost.evil.example", "Sec-Fetch-Site": "cross-site"},
]


@pytest.mark.parametrize("headers", CROSS_SITE, ids=lambda h: ",".join(h.values()))
async def test_a_bodiless_cross_site_post_is_refused_and_queues_nothing(
    open_api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """What ``fetch(url, {method: "POST", mode: "no-cors"})`` from another site sends."""
    assert (await open_api.post("/api/jobs", json=job_payload("target"))).status_code == 201
    for action in ("trigger", "pause"):
        r = await open_api.post(f"/api/jobs/target/{action}", headers=headers)
        assert r.status_code == 403, r.text
        error = r.json()["error"]
        assert error["code"] == "cross_site_request"
        assert "TICKWORK_ALLOWED_ORIGINS" in error["message"]
    runs = (await open_api.get("/api/runs")).json()
    assert runs["runs"] == []
    assert (await open_api.get("/api/jobs/target")).json()["enabled"] is True


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/jobs", job_payload("planted", type="shell", command="id")),
        ("PUT", "/api/jobs/target", job_payload("target", type="shell", command="id")),
        ("DELETE", "/api/jobs/target", None),
        ("POST", "/api/tokens", {"name": "stolen", "role": "admin"}),
    ],
)
async def test_every_cross_site_write_is_refused(
    open_api: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    assert (await open_api.post("/api/jobs", json=job_payload("target"))).status_code == 201
    r = await open_api.request(method, path, json=body, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "cross_site_request", r.text
    jobs = (await open_api.get("/api/jobs")).json()["jobs"]
    assert [(j["name"], j["command"]) for j in jobs] == [("target", "true")]


async def test_same_origin_and_headerless_writes_keep_working(
    open_api: httpx.AsyncClient,
) -> None:
    """curl, the CLI and workers send no Origin; the dashboard sends its own origin."""
    assert (await open_api.post("/api/jobs", json=job_payload("mine"))).status_code == 201
    plain = await open_api.post("/api/jobs/mine/trigger")
    assert plain.status_code == 202, plain.text
    dashboard = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    again = await open_api.post("/api/jobs/mine/pause", headers=dashboard)
    assert again.status_code == 200, again.text
    typed = await open_api.post("/api/jobs/mine/resume", headers={"Sec-Fetch-Site": "none"})
    assert typed.status_code == 200, typed.text
    # reads are not writes: a cross-site GET gets its answer (the browser keeps it from the page)
    read = await open_api.get("/api/jobs", headers={"Origin": "http://evil.example"})
    assert read.status_code == 200


async def test_an_allowed_origin_may_write(sqlite_url: str, clock: FakeClock) -> None:
    settings = Settings(database_url=sqlite_url, allowed_origins=["https://ops.example.com/"])
    async with served(settings, clock) as api:
        assert (await api.post("/api/jobs", json=job_payload("proxied"))).status_code == 201
        through_proxy = {"Origin": "https://OPS.example.com", "Sec-Fetch-Site": "cross-site"}
        r = await api.post("/api/jobs/proxied/trigger", headers=through_proxy)
        assert r.status_code == 202, r.text
        other = await api.post("/api/jobs/proxied/pause", headers={"Origin": "https://x.example"})
        assert other.status_code == 403


# --- item 6: DNS rebinding --------------------------------------------------------------------
async def test_a_request_for_a_host_not_allowed_is_refused(open_api: httpx.AsyncClient) -> None:
    rebound = {"Host": "attacker.example:8000"}
    r = await open_api.post(
        "/api/jobs", json=job_payload("rebound", type="shell", command="id"), headers=rebound
    )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "host_not_allowed"
    assert "attacker.example" in error["message"] and "TICKWORK_ALLOWED_HOSTS" in error["message"]
    assert (await open_api.get("/api/jobs/rebound")).status_code == 404
    for path in ("/api/jobs", "/", "/metrics"):  # reads too: rebinding reads as well as writes
        assert (await open_api.get(path, headers=rebound)).status_code == 400
    # load balancers and probes address a server by its IP; health carries no data
    assert (await open_api.get("/api/health", headers=rebound)).status_code == 200
    for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST", "localhost."):
        assert (await open_api.get("/api/jobs", headers={"Host": host})).status_code == 200, host


async def test_allowed_hosts_are_configurable(sqlite_url: str, clock: FakeClock) -> None:
    named = Settings(database_url=sqlite_url, allowed_hosts=["tw.example.com", "*.corp.example"])
    async with served(named, clock) as api:
        for host, status in [
            ("tw.example.com", 200),
            ("TW.example.com:8443", 200),
            ("eu.corp.example", 200),
            ("corp.example", 400),
            ("tw.example.com.evil.example", 400),
            ("127.0.0.1:8000", 200),  # loopback names always
        ]:
            r = await api.get("/api/jobs", headers={"Host": host})
            assert r.status_code == status, (host, r.text)
    anything = Settings(database_url=sqlite_url, allowed_hosts=["*"])
    async with served(anything, clock) as api:
        assert (await api.get("/api/jobs", headers={"Host": "10.1.2.3:8000"})).status_code == 200


async def test_a_specific_bind_address_is_allowed(sqlite_url: str, clock: FakeClock) -> None:
    async with served(Settings(database_url=sqlite_url, host="10.0.0.5"), clock) as api:
        assert (await api.get("/api/jobs", headers={"Host": "10.0.0.5:8000"})).status_code == 200
        assert (await api.get("/api/jobs", headers={"Host": "10.0.0.6:8000"})).status_code == 400


def test_allowed_hosts_and_origins_read_comma_separated_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TICKWORK_ALLOWED_HOSTS", " tw.example.com, Other.Example.com ,")
    monkeypatch.setenv("TICKWORK_ALLOWED_ORIGINS", "https://ops.example.com")
    settings = Settings()
    assert settings.allowed_hosts == ["tw.example.com", "other.example.com"]
    assert settings.allowed_origins == ["https://ops.example.com"]
    with pytest.raises(pydantic.ValidationError, match="allowed_origins"):
        Settings(allowed_origins=["ops.example.com"])
    with pytest.raises(pydantic.ValidationError, match="allowed_origins"):
        Settings(allowed_origins=["https://ops.example.com/path"])


# --- the event stream -------------------------------------------------------------------------
@contextlib.contextmanager
def ws_app(sqlite_url: str, **settings: Any) -> Iterator[tuple[TestClient, Container]]:
    container = Container(Settings(database_url=sqlite_url, **settings))
    with TestClient(create_app(container), base_url="http://localhost") as client:
        yield client, container


def closed_with(client: TestClient, url: str, **kw: Any) -> tuple[int, str]:
    with client.websocket_connect(url, **kw) as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    return closed.value.code, closed.value.reason


@pytest.mark.parametrize("auth", [True, False], ids=["auth", "open"])
def test_a_token_in_the_websocket_url_is_refused(sqlite_url: str, auth: bool) -> None:
    with ws_app(sqlite_url, auth=auth) as (client, container):
        assert client.portal is not None
        _, secret = client.portal.call(partial(container.tokens.create, name="v", role="viewer"))
        code, reason = closed_with(client, f"{WS}/api/ws?since=0&token={secret}")
        assert code == 4400
        assert "URL" in reason and secret not in reason


def test_the_websocket_takes_its_token_from_the_subprotocol(sqlite_url: str) -> None:
    with ws_app(sqlite_url, auth=True) as (client, container):
        assert client.portal is not None
        _, viewer = client.portal.call(partial(container.tokens.create, name="v", role="viewer"))
        _, admin = client.portal.call(partial(container.tokens.create, name="a", role="admin"))
        made = client.post(
            "/api/jobs", json=job_payload("seen"), headers={"Authorization": f"Bearer {admin}"}
        )
        assert made.status_code == 201
        offered = ["tickwork", f"tickwork.bearer.{viewer}"]
        with client.websocket_connect(f"{WS}/api/ws?since=0", subprotocols=offered) as ws:
            assert ws.accepted_subprotocol == "tickwork"  # never the one carrying the token
            assert ws.receive_json()["type"] == "job.created"
        wrong = ["tickwork", "tickwork.bearer.tw_wrong"]
        with client.websocket_connect(f"{WS}/api/ws", subprotocols=wrong) as ws:
            assert ws.accepted_subprotocol == "tickwork"  # so a browser can read the code
            with pytest.raises(WebSocketDisconnect) as refused:
                ws.receive_json()
        assert refused.value.code == 4401
        assert closed_with(client, f"{WS}/api/ws", subprotocols=["tickwork"])[0] == 4401


@pytest.mark.parametrize("auth", [True, False], ids=["auth", "open"])
def test_a_cross_site_websocket_is_refused(sqlite_url: str, auth: bool) -> None:
    """Cross-site WebSocket hijacking: a page elsewhere must not read the event stream."""
    with ws_app(sqlite_url, auth=auth) as (client, container):
        assert client.portal is not None
        _, admin = client.portal.call(partial(container.tokens.create, name="a", role="admin"))
        bearer = {"Authorization": f"Bearer {admin}"}
        assert client.post("/api/jobs", json=job_payload("seen"), headers=bearer).status_code == 201
        for hostile in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            code, reason = closed_with(
                client, f"{WS}/api/ws?since=0", headers={**bearer, **hostile}
            )
            assert code == 4403 and "TICKWORK_ALLOWED_ORIGINS" in reason
        code, reason = closed_with(
            client, f"{WS}/api/ws", headers={**bearer, "Host": "attacker.example"}
        )
        assert code == 4400 and "TICKWORK_ALLOWED_HOSTS" in reason
        own = {**bearer, "Origin": "http://localhost"}
        with client.websocket_connect(f"{WS}/api/ws?since=0", headers=own) as ws:
            assert ws.receive_json()["type"] == "job.created"
