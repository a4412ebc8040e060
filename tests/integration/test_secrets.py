"""Secrets: references stored, values filled in only on the worker for the names its owner
allowed, and masked — in every form a job plausibly prints them — in everything a viewer can
read: every API answer, every WebSocket message, every stored row."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import quote, quote_plus

import psycopg
import pytest
from websockets.sync.client import connect

from tickwork.config import Settings
from tickwork.service.container import Container

from .conftest import FAST
from .harness import Cluster, cluster, free_port

SECRET = "s3cr3t-VALUE-9f2c"
AWKWARD = 'aw"k\\ward-é雪-7d1e'  # a double quote, a backslash and non-ASCII
NOT_ALLOWED = "value-of-a-variable-nobody-allowed"
WORKER_TOKEN_NAME = "TICKWORK_TOKEN"


class Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_POST(self) -> None:
        Recorder.seen.append(self.headers.get("Authorization", ""))
        body = json.dumps({"ok": True, "auth": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


def forms(value: str) -> set[str]:
    """The value and the encodings under which a leak could hide in a stored or shown text
    (written out here, independently of the worker's own list)."""
    as_json = {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    echoed = {f.replace("\\\\", "\\") for f in as_json}  # dash's echo undoes the backslashes
    return {value, *as_json, *echoed, repr(value)[1:-1], quote(value, safe=""), quote_plus(value)}


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value, dict keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def leaks(texts: list[str], needles: set[str]) -> list[str]:
    """Texts showing a needle, as they are or once decoded from JSON."""
    found = []
    for text in texts:
        try:
            decoded = list(strings(json.loads(text)))
        except ValueError:
            decoded = []
        if any(n in t for t in [text, *decoded] for n in needles):
            found.append(text[:200])
    return found


def stored_rows(database: str) -> list[str]:
    """Every row of every table, as text and with each JSON string decoded."""
    texts = []
    with psycopg.connect(database) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        assert {"runs", "attempts", "events", "jobs", "dead_letters"} <= {t for (t,) in tables}
        for (table,) in tables:
            for (row,) in conn.execute(f'SELECT to_jsonb(t) FROM "{table}" t'):
                texts.append(json.dumps(row, ensure_ascii=False))
                texts.extend(strings(row))
    return texts


async def make_tokens(database: str) -> dict[str, str]:
    container = Container(Settings(database_url=database))
    await container.start(background=False)
    try:
        return {
            role: (await container.tokens.create(name=role, role=role))[1]
            for role in ("admin", "operator", "viewer", "worker")
        }
    finally:
        await container.stop()


@pytest.fixture
def secured(
    pg_database: str, redis_url: str, redis_prefix: str
) -> Iterator[tuple[Cluster, dict[str, str]]]:
    with cluster(pg_database, redis_url, redis_prefix, insecure=False, **FAST) as tw:
        tokens = asyncio.run(make_tokens(pg_database))
        tw.http.headers["Authorization"] = f"Bearer {tokens['admin']}"
        yield tw, tokens


def every_event(tw: Cluster, viewer: dict[str, str]) -> list[str]:
    pages, before = [], None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"before": before} if before else {})}
        page = tw.http.get("/api/events", params=params, headers=viewer)
        assert page.status_code == 200, page.text
        if not page.json():
            return pages
        pages.append(page.text)
        before = page.json()[-1]["id"]


def websocket_replay(tw: Cluster, token: str, last_id: int) -> list[str]:
    """Everything the WebSocket sends a viewer who asks for all events and output."""
    url = tw.url.replace("http://", "ws://") + "/api/ws?since=0&logs=true"
    messages: list[str] = []
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        while not messages or json.loads(messages[-1]).get("id", 0) < last_id:
            messages.append(str(ws.recv(timeout=30)))
    return messages


def test_secret_values_never_reach_the_api_or_the_database(
    secured: tuple[Cluster, dict[str, str]], pg_database: str
) -> None:
    tw, tokens = secured
    operator = {"Authorization": f"Bearer {tokens['operator']}"}
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    port = free_port()
    server = HTTPServer(("127.0.0.1", port), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tw.start_worker(
            env={
                "TW_TEST_SECRET": SECRET,
                "TW_TEST_AWKWARD": AWKWARD,
                "TW_TEST_NOT_ALLOWED": NOT_ALLOWED,
                "TICKWORK_TOKEN": tokens["worker"],
                # listed, and still never resolved: tickwork's own variables
                "TICKWORK_SECRETS": "TW_TEST_SECRET,TW_TEST_AWKWARD,NOT_SET_ANYWHERE,"
                + WORKER_TOKEN_NAME,
            }
        )
        runs = run_every_case(tw, port, operator)
    finally:
        server.shutdown()
        server.server_close()

    assert Recorder.seen == [SECRET]  # the side effect got the real value
    ok, failed, called, missing = (runs[k] for k in ("careless", "failing", "call", "missing"))
    assert ok["output"] == "connecting with password=***\n"
    assert ok["result"] == {"echo": "***"}
    assert ok["parameters"] == {"password": {"$secret": "TW_TEST_SECRET"}}
    assert "login refused for password ***" in (failed["error"] or "")
    assert failed["error_summary"] == "RuntimeError: login refused for password ***"
    assert called["result"]["body"] == '{"ok": true, "auth": "***"}'
    assert "NOT_SET_ANYWHERE" in (missing["error"] or "")
    # (a) split across the worker's 65,536-byte reads, or written in two flushed pieces
    assert runs["straddle"]["output"] == "x" * 65530 + "***\n"
    assert runs["pieces"]["output"] == "pw=*** done\n"
    # (b) a key of the result
    assert runs["as-key"]["result"] == {"***": 1, "nested": [{"user:***": "x"}]}
    # (c) the JSON-escaped form from TICKWORK_PARAMETERS, and a repr in a traceback
    assert runs["echo-params"]["output"] == '{"pw": "***"}\n'
    assert "bad settings: {'password': '***'}" in (runs["repr"]["error"] or "")
    # (d) names the worker's owner did not allow, and tickwork's own token, never resolve
    own, not_allowed = runs["own-token"], runs["not-allowed"]
    assert own["status"] == not_allowed["status"] == "failed"
    assert "'TICKWORK_TOKEN' is one of tickwork's own variables" in own["error"]
    assert "'TW_TEST_NOT_ALLOWED' is not allowed on this worker" in not_allowed["error"]
    assert "--secret TW_TEST_NOT_ALLOWED" in not_allowed["error"]

    texts = [json.dumps(r, ensure_ascii=False) for r in runs.values()]
    for path in (
        "/api/runs?limit=100",
        "/api/jobs?limit=100",
        "/api/dead-letters?resolved=all",
        "/api/audit",
        "/api/workers",
    ):
        answer = tw.http.get(path)
        assert answer.status_code == 200, (path, answer.text)
        texts.append(answer.text)
    for name, run in runs.items():
        texts.append(tw.http.get(f"/api/runs/{run['id']}/logs", headers=viewer).text)
        texts.append(tw.http.get(f"/api/jobs/{name}", headers=viewer).text)
    events = every_event(tw, viewer)
    last_id = max(e["id"] for page in events for e in json.loads(page))
    live = websocket_replay(tw, tokens["viewer"], last_id)
    assert any(json.loads(m).get("type") == "run.log" for m in live)  # output included
    texts += events + live
    needles = forms(SECRET) | forms(AWKWARD) | forms(NOT_ALLOWED) | forms(tokens["worker"])
    assert not leaks(texts, needles)
    assert not leaks(stored_rows(pg_database), needles)


def run_every_case(tw: Cluster, port: int, operator: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Define the jobs (as admin), trigger them (as operator), wait for each run's end."""
    ref, awkward = {"$secret": "TW_TEST_SECRET"}, {"$secret": "TW_TEST_AWKWARD"}
    python = {"type": "python", "retries": 0, "on_overlap": "queue"}
    jobs: dict[str, dict[str, Any]] = {
        "careless": {**python, "function": "itjobs.use_secret", "parameters": {"password": ref}},
        "failing": {
            **python,
            "function": "itjobs.use_secret",
            "parameters": {"password": ref, "fail": True},
        },
        "call": {
            "type": "http",
            "request": {
                "url": f"http://127.0.0.1:{port}/hook",
                "method": "POST",
                "headers": {"Authorization": ref},
                "body": {"x": 1},
            },
        },
        "missing": {
            "type": "shell",
            "command": "true",
            "retries": 0,
            "parameters": {"k": {"$secret": "NOT_SET_ANYWHERE"}},
        },
        "straddle": {**python, "function": "itjobs.print_after", "parameters": {"password": ref}},
        "pieces": {
            **python,
            "function": "itjobs.print_in_pieces",
            "parameters": {"password": ref, "at": 7},
        },
        "as-key": {**python, "function": "itjobs.secret_as_key", "parameters": {"password": ref}},
        "echo-params": {
            "type": "shell",
            "command": 'echo "$TICKWORK_PARAMETERS"',
            "parameters": {"pw": awkward},
        },
        "repr": {
            **python,
            "function": "itjobs.raise_with_repr",
            "parameters": {"password": awkward},
        },
        "own-token": {
            "type": "shell",
            "command": 'echo "$TICKWORK_PARAMETERS"',
            "retries": 0,
            "parameters": {"pw": {"$secret": WORKER_TOKEN_NAME}},
        },
        "not-allowed": {
            "type": "shell",
            "command": 'echo "$TICKWORK_PARAMETERS"',
            "retries": 0,
            "parameters": {"pw": {"$secret": "TW_TEST_NOT_ALLOWED"}},
        },
    }
    for name, body in jobs.items():
        tw.create_job(name=name, **body)
    refuse_operator_secrets(tw, operator)
    run_ids = {}
    for name in jobs:
        answer = tw.http.post(f"/api/jobs/{name}/trigger", headers=operator)
        assert answer.status_code == 202, answer.text
        run_ids[name] = answer.json()["run_id"]
    return {
        name: tw.wait_status(run_id, "completed", "failed", timeout=60)
        for name, run_id in run_ids.items()
    }


def refuse_operator_secrets(tw: Cluster, operator: dict[str, str]) -> None:
    """An operator may not bring a secret of its own choosing into a run: 422, nothing queued."""
    stolen = {"password": {"$secret": WORKER_TOKEN_NAME}}
    trigger = tw.http.post(
        "/api/jobs/careless/trigger", json={"parameters": stolen}, headers=operator
    )
    bulk = tw.http.post(
        "/api/runs/bulk",
        json={"runs": [{"job": "careless"}, {"job": "careless", "parameters": stolen}]},
        headers=operator,
    )
    for answer, field in ((trigger, "parameters.password"), (bulk, "runs.1.parameters.password")):
        assert answer.status_code == 422, answer.text
        (detail,) = answer.json()["error"]["details"]
        assert detail["field"] == field and "'TICKWORK_TOKEN'" in detail["message"]
    assert tw.http.get("/api/runs", params={"job": "careless"}).json()["total"] == 0
