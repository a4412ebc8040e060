"""WS /api/ws: live events as they happen, and catch-up from the last id a client saw."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.service.container import Container
from tickwork.testing import job_payload

WS = "ws://localhost"  # the test client's default host, testserver, is not an allowed host


def _changes(ws: Any, n: int) -> list[str]:
    """The types of the next ``n`` events, leaving out the job-status projector's
    ``job.status`` announcements, which the background passes interleave when they run."""
    out: list[str] = []
    while len(out) < n:
        kind = ws.receive_json()["type"]
        if kind != "job.status":
            out.append(kind)
    return out


def test_live_events_and_resume(sqlite_url: str) -> None:
    container = Container(Settings(database_url=sqlite_url, scheduler_interval=60))
    with TestClient(create_app(container), base_url="http://localhost") as client:
        client.post("/api/jobs", json=job_payload("ws-job"))
        with client.websocket_connect(f"{WS}/api/ws") as ws:
            run_id = client.post("/api/jobs/ws-job/trigger").json()["run_id"]
            msg = ws.receive_json()
            while msg["type"] != "run.queued":
                msg = ws.receive_json()
            assert msg["run_id"] == run_id and msg["data"]["status"] == "queued"
            last_seen = msg["id"]
        client.post(f"/api/runs/{run_id}/cancel")
        client.post("/api/jobs/ws-job/pause")
        with client.websocket_connect(f"{WS}/api/ws?since={last_seen}") as ws:
            missed = _changes(ws, 2)
        assert missed == ["run.cancelled", "job.paused"]
        with client.websocket_connect(f"{WS}/api/ws?since=0&run=" + run_id) as ws:
            only_run = [ws.receive_json() for _ in range(2)]
        assert [m["type"] for m in only_run] == ["run.queued", "run.cancelled"]
        assert all(m["run_id"] == run_id for m in only_run)


def test_output_chunks_go_only_to_connections_that_ask(sqlite_url: str) -> None:
    container = Container(Settings(database_url=sqlite_url, scheduler_interval=60))
    with TestClient(create_app(container), base_url="http://localhost") as client:
        client.post("/api/jobs", json=job_payload("loud"))
        run_id = client.post("/api/jobs/loud/trigger").json()["run_id"]
        wid = client.post("/api/workers", json={"hostname": "h", "pid": 1}).json()["id"]
        [claimed] = client.post(f"/api/workers/{wid}/claim", json={"limit": 1}).json()[
            "assignments"
        ]
        fence = claimed["fence"]
        report = {
            "starts": [{"run_id": run_id, "fence": fence}],
            "logs": [{"run_id": run_id, "fence": fence, "stream": "stdout", "data": "hi\n"}],
            "completions": [{"run_id": run_id, "fence": fence, "status": "completed"}],
        }
        assert client.post(f"/api/workers/{wid}/report", json=report).json()["logs"][0]["ok"]

        def types(url: str) -> list[str]:
            with client.websocket_connect(url) as ws:
                got = []
                while not got or got[-1] != "run.completed":
                    got.append(ws.receive_json()["type"])
                return got

        assert "run.log" not in types(f"{WS}/api/ws?since=0")
        # the start came with the completion: the run is written once, started and finished,
        # and its run.started still comes first (who follows the run learns its worker)
        assert types(f"{WS}/api/ws?since=0&run={run_id}") == [
            "run.queued",
            "run.started",
            "run.log",
            "run.completed",
        ]
        assert "run.log" in types(f"{WS}/api/ws?since=0&logs=true")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("job=a%00b", "job"),
        ("run=r%00", "run"),
        (f"since={2**63}", "since"),
        ("since=-1", "since"),
        ("since=abc", "since"),
        ("job=" + "x" * 201, "job"),
    ],
)
def test_bad_websocket_parameters_close_the_socket_naming_them(
    sqlite_url: str, query: str, field: str
) -> None:
    """A filter the database cannot take used to kill the event pump silently: the socket
    stayed open and sent nothing, ever."""
    container = Container(Settings(database_url=sqlite_url, scheduler_interval=60))
    with TestClient(create_app(container), base_url="http://localhost") as client:
        with (
            client.websocket_connect(f"{WS}/api/ws?{query}") as ws,
            pytest.raises(WebSocketDisconnect) as closed,
        ):
            ws.receive_json()
        assert closed.value.code == 4400
        assert field in closed.value.reason


def test_a_failing_event_stream_closes_the_socket_so_the_client_reconnects(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = Container(Settings(database_url=sqlite_url, scheduler_interval=60))

    async def broken(*_args: object, **_kwargs: object) -> list[object]:
        raise RuntimeError("the database went away")

    with TestClient(create_app(container), base_url="http://localhost") as client:
        monkeypatch.setattr(container.events, "since", broken)
        with (
            client.websocket_connect(f"{WS}/api/ws?since=0") as ws,
            pytest.raises(WebSocketDisconnect) as closed,
        ):
            ws.receive_json()
        assert closed.value.code == 1011
