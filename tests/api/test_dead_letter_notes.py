"""Resolving a dead letter with a note, on SQLite and PostgreSQL: kept on the entry, returned
by the dead-letter API, checked like any other input."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container

from .tenancy import failed_run


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url)


@pytest.fixture
async def container(settings: Settings, clock: FakeClock) -> AsyncIterator[Container]:
    c = Container(settings, clock=clock)
    await c.start(background=False)
    yield c
    await c.stop()


async def test_a_note_is_kept_and_shown(api: httpx.AsyncClient, container: Container) -> None:
    _, run_id, dl_id = await failed_run(container, "default", "flaky")
    note = "upstream fixed the feed; the 02:00 run covers it — ünïcode too"
    r = await api.post(f"/api/dead-letters/{dl_id}/resolve", json={"note": note})
    assert r.status_code == 200, r.text
    assert (r.json()["note"], r.json()["resolution"], r.json()["run_id"]) == (
        note,
        "resolved",
        run_id,
    )
    listed = (await api.get("/api/dead-letters", params={"resolved": "true"})).json()
    assert [(d["id"], d["note"]) for d in listed["dead_letters"]] == [(dl_id, note)]
    again = await api.post(f"/api/dead-letters/{dl_id}/resolve", json={"note": "twice"})
    assert again.status_code == 409
    assert (await container.runs.dead_letter(dl_id)).note == note


async def test_a_note_is_optional(api: httpx.AsyncClient, container: Container) -> None:
    _, _, bare = await failed_run(container, "default", "bare")
    _, _, empty = await failed_run(container, "default", "empty")
    r = await api.post(f"/api/dead-letters/{bare}/resolve")
    assert r.status_code == 200 and r.json()["note"] is None, r.text
    r = await api.post(f"/api/dead-letters/{empty}/resolve", json={})
    assert r.status_code == 200 and r.json()["note"] is None, r.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"note": "x" * 1001}, "note"),
        ({"note": "nul \u0000 inside"}, "note"),
        ({"note": 5}, "note"),
        ({"reason": "typo"}, "reason"),
    ],
)
async def test_a_bad_note_resolves_nothing(
    api: httpx.AsyncClient, container: Container, body: object, field: str
) -> None:
    _, _, dl_id = await failed_run(container, "default", "kept-open")
    r = await api.post(f"/api/dead-letters/{dl_id}/resolve", json=body)
    assert r.status_code == 422, r.text
    assert field in {d["field"] for d in r.json()["error"]["details"]}
    entry = await container.runs.dead_letter(dl_id)
    assert (entry.resolved_at, entry.note) == (None, None)
