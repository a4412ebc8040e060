"""Secrets: references stored, values filled in only on the worker, masked in every output."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import psycopg

from .harness import Cluster, free_port

SECRET = "s3cr3t-VALUE-9f2c"


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


def test_secret_values_never_reach_the_api_or_the_database(tw: Cluster, pg_database: str) -> None:
    port = free_port()
    server = HTTPServer(("127.0.0.1", port), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tw.start_worker(
            env={"TW_TEST_SECRET": SECRET, "TICKWORK_SECRETS": "TW_TEST_SECRET,NOT_SET_ANYWHERE"}
        )
        ref = {"$secret": "TW_TEST_SECRET"}
        tw.create_job(
            name="careless",
            type="python",
            function="itjobs.use_secret",
            parameters={"password": ref},
            on_overlap="queue",
        )
        tw.create_job(
            name="failing",
            type="python",
            function="itjobs.use_secret",
            parameters={"password": ref, "fail": True},
            retries=0,
        )
        tw.create_job(
            name="call",
            type="http",
            request={
                "url": f"http://127.0.0.1:{port}/hook",
                "method": "POST",
                "headers": {"Authorization": ref},
                "body": {"x": 1},
            },
        )
        tw.create_job(
            name="missing",
            type="shell",
            command="true",
            retries=0,
            parameters={"k": {"$secret": "NOT_SET_ANYWHERE"}},
        )
        ok = tw.wait_status(tw.trigger("careless"), "completed")
        failed = tw.wait_status(tw.trigger("failing"), "failed")
        called = tw.wait_status(tw.trigger("call"), "completed")
        missing = tw.wait_status(tw.trigger("missing"), "failed")
    finally:
        server.shutdown()
        server.server_close()
    assert Recorder.seen == [SECRET]  # the side effect got the real value
    assert ok["output"] == "connecting with password=***\n"
    assert ok["result"] == {"echo": "***"}
    assert "login refused for password ***" in (failed["error"] or "")
    assert ok["parameters"] == {"password": {"$secret": "TW_TEST_SECRET"}}
    assert "NOT_SET_ANYWHERE" in (missing["error"] or "")
    texts = [json.dumps(r) for r in (ok, failed, called, missing)]
    for path in (
        "/api/runs?limit=100",
        "/api/jobs",
        "/api/events?limit=500",
        "/api/dead-letters?resolved=all",
        f"/api/runs/{ok['id']}/logs",
    ):
        texts.append(tw.http.get(path).text)
    assert not [t for t in texts if SECRET in t]
    with psycopg.connect(pg_database) as conn:
        for table in ("runs", "attempts", "events", "jobs", "dead_letters"):
            dump = conn.execute(f"SELECT t::text FROM {table} t").fetchall()
            assert not [row for row in dump if SECRET in row[0]], table
