"""Compression and caching: static files and large JSON reads in the encoding the client
accepts, byte-identical once decoded; the worker protocol never compressed."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import brotli
import httpx
import pytest

from tickwork.api import app as app_module
from tickwork.api.app import create_app
from tickwork.api.compression import accepted
from tickwork.service.container import Container
from tickwork.testing import job_payload

SCRIPT = ("export const rows = [" + ",".join(f'"row {i}"' for i in range(2000)) + "];\n").encode()
INDEX = b"<!doctype html><html><head><script src='/assets/app-3f2a9c.js'></script></head></html>"


def decode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "br":
        return bytes(brotli.decompress(body))
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None
    return body


@pytest.fixture
async def raw(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """A client that leaves bodies as sent (no automatic decoding), over a built dashboard."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app-3f2a9c.js").write_bytes(SCRIPT)
    (tmp_path / "assets" / "logo-77aa01.png").write_bytes(b"\x89PNG" + bytes(4000))
    (tmp_path / "index.html").write_bytes(INDEX)
    monkeypatch.setattr(app_module, "STATIC", tmp_path)
    transport = httpx.ASGITransport(app=create_app(container, manage_lifecycle=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0.5, gzip", "gzip"),
        ("gzip;q=0, br;q=0", None),
        ("*", "br"),
        ("identity", None),
        ("", None),
        ("deflate", None),
        ("br;q=nonsense, gzip;q=0.1", "gzip"),
    ],
)
def test_the_accepted_encoding_honours_q_values(accept: str, expected: str | None) -> None:
    assert accepted(accept) == expected


@pytest.mark.parametrize("accept", ["br", "gzip", "identity"])
async def test_hashed_assets_are_compressed_and_cached_for_a_year(
    raw: httpx.AsyncClient, accept: str
) -> None:
    response = await raw.get("/assets/app-3f2a9c.js", headers={"Accept-Encoding": accept})
    encoding = response.headers.get("content-encoding")
    assert encoding == (None if accept == "identity" else accept)
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.content == SCRIPT  # as httpx decoded it


async def test_compressed_assets_decode_to_the_same_bytes(raw: httpx.AsyncClient) -> None:
    for encoding in ("br", "gzip"):
        transport_body = await _raw_bytes(raw, "/assets/app-3f2a9c.js", encoding)
        assert len(transport_body) < len(SCRIPT) / 3
        assert decode(transport_body, encoding) == SCRIPT


async def _raw_bytes(client: httpx.AsyncClient, url: str, encoding: str) -> bytes:
    request = client.build_request("GET", url, headers={"Accept-Encoding": encoding})
    response = await client.send(request, stream=True)
    assert response.headers["content-encoding"] == encoding
    data = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return data


async def test_index_is_revalidated_and_answers_304_to_its_etag(raw: httpx.AsyncClient) -> None:
    for path in ("/", "/runs/some-client-route"):
        first = await raw.get(path)
        assert first.content == INDEX and first.headers["cache-control"] == "no-cache"
        etag = first.headers["etag"]
        again = await raw.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""


async def test_images_and_unknown_assets(raw: httpx.AsyncClient) -> None:
    png = await raw.get("/assets/logo-77aa01.png", headers={"Accept-Encoding": "br, gzip"})
    assert "content-encoding" not in png.headers and png.content.startswith(b"\x89PNG")
    assert png.headers["cache-control"].endswith("immutable")
    assert (await raw.get("/assets/nope.js")).status_code == 404
    assert (await raw.get("/assets/..%2F..%2Fpyproject.toml")).status_code == 404


async def _big_job_list(raw: httpx.AsyncClient) -> None:
    for i in range(12):
        payload = job_payload(f"j{i:02d}", command="echo " + "x" * 100)
        assert (await raw.post("/api/jobs", json=payload)).status_code == 201


@pytest.mark.parametrize("encoding", ["br", "gzip"])
async def test_large_json_reads_are_compressed_byte_identical(
    raw: httpx.AsyncClient, encoding: str
) -> None:
    await _big_job_list(raw)
    plain = await raw.get("/api/jobs", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and len(plain.content) >= 1024
    packed = await _raw_bytes(raw, "/api/jobs", encoding)
    assert decode(packed, encoding) == plain.content
    assert len(packed) < len(plain.content)
    json.loads(decode(packed, encoding))


async def test_small_json_and_writes_are_sent_as_they_are(raw: httpx.AsyncClient) -> None:
    small = await raw.get("/api/health", headers={"Accept-Encoding": "br, gzip"})
    assert small.status_code == 200 and "content-encoding" not in small.headers
    made = await raw.post(
        "/api/jobs",
        json=job_payload("w", command="echo " + "x" * 2000),
        headers={"Accept-Encoding": "gzip"},
    )
    assert made.status_code == 201 and "content-encoding" not in made.headers


async def test_the_worker_protocol_is_never_compressed(raw: httpx.AsyncClient) -> None:
    await _big_job_list(raw)
    for i in range(12):
        await raw.post(f"/api/jobs/j{i:02d}/trigger")
    wid = (await raw.post("/api/workers", json={"hostname": "h", "pid": 1})).json()["id"]
    claim = await raw.post(
        f"/api/workers/{wid}/claim", json={"limit": 12}, headers={"Accept-Encoding": "br, gzip"}
    )
    assert len(claim.json()["assignments"]) == 12 and len(claim.content) >= 1024
    assert "content-encoding" not in claim.headers


async def test_the_builds_compressed_twins_are_served_as_they_are(
    raw: httpx.AsyncClient, tmp_path: Path
) -> None:
    """`npm run build` writes .br and .gz twins (dashboard/scripts/compress.mjs): served as
    built, not compressed again in each process; a twin older than its file is ignored."""
    script = tmp_path / "assets" / "app-3f2a9c.js"
    built_br = bytes(brotli.compress(SCRIPT, quality=1))  # not what the server would make
    script.with_name(script.name + ".br").write_bytes(built_br)
    stale_gz = gzip.compress(b"an older build", mtime=0)
    gz = script.with_name(script.name + ".gz")
    gz.write_bytes(stale_gz)
    older = script.stat().st_mtime_ns - 10**9
    os.utime(gz, ns=(older, older))
    assert await _raw_bytes(raw, "/assets/app-3f2a9c.js", "br") == built_br
    fresh = await _raw_bytes(raw, "/assets/app-3f2a9c.js", "gzip")
    assert fresh != stale_gz and decode(fresh, "gzip") == SCRIPT
