"""The built dashboard: files compressed once (brotli 11, gzip 9: at build time, else on first
use) and kept in memory, with the caching each kind allows.

Files under /assets have a content hash in their names, so they never change:
``Cache-Control: public, max-age=31536000, immutable``. index.html (and the fallback to it
for client routes) names the current hashes, so it is ``no-cache``: revalidated each time
(an ETag makes that a 304).
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from tickwork.api.compression import ENCODINGS, MIN_SIZE, accepted, compress

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

COMPRESSIBLE = frozenset(
    {
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
        "text/css",
        "text/html",
        "text/javascript",
        "text/plain",
    }
)


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str
    encoded: dict[str, bytes] = field(default_factory=dict)
    """The body in each encoding that makes it smaller (none for images and tiny files)."""


def load_asset(path: Path) -> Asset:
    """Read and compress one file (blocking: run it in a thread)."""
    body = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    encoded: dict[str, bytes] = {}
    if media_type in COMPRESSIBLE and len(body) >= MIN_SIZE:
        for encoding in ENCODINGS:
            packed = _built_twin(path, encoding) or compress(body, encoding, static=True)
            if len(packed) < len(body):
                encoded[encoding] = packed
    return Asset(body, media_type, etag, encoded)


TWINS = {"br": ".br", "gzip": ".gz"}


def _built_twin(path: Path, encoding: str) -> bytes | None:
    """The build's own compressed copy (dashboard/scripts/compress.mjs), if it is at least as
    new as the file: no brotli 11 at run time, in every coordinator process."""
    twin = path.with_name(path.name + TWINS[encoding])
    try:
        if twin.stat().st_mtime_ns >= path.stat().st_mtime_ns:
            return twin.read_bytes()
    except FileNotFoundError:
        return None
    return None


class AssetCache:
    """Files by path, loaded once each (again if the file changed on disk)."""

    def __init__(self) -> None:
        self._assets: dict[Path, tuple[tuple[int, int], asyncio.Future[Asset]]] = {}

    async def get(self, path: Path) -> Asset:
        version = _version(path)
        known = self._assets.get(path)
        if known is None or known[0] != version:
            loading = asyncio.ensure_future(asyncio.to_thread(load_asset, path))
            self._assets[path] = known = (version, loading)
        return await asyncio.shield(known[1])


def _version(path: Path) -> tuple[int, int]:
    """What tells a changed file (a stat: microseconds, no read)."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def asset_response(request: Request, asset: Asset, cache_control: str) -> Response:
    """The asset in the encoding the client prefers; 304 when its ETag still matches."""
    headers = {"ETag": asset.etag, "Cache-Control": cache_control}
    if asset.encoded:
        headers["Vary"] = "Accept-Encoding"
    if asset.etag in _etags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    encoding = accepted(request.headers.get("accept-encoding"), tuple(asset.encoded))
    body = asset.body
    if encoding is not None:
        body = asset.encoded[encoding]
        headers["Content-Encoding"] = encoding
    return Response(body, media_type=asset.media_type, headers=headers)


def _etags(header: str | None) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in (header or "").split(",") if tag.strip()}


def file_under(root: Path, relative: str) -> Path | None:
    """The file ``relative`` names inside ``root``, if it is one (never outside it)."""
    candidate = (root / relative).resolve()
    if relative and candidate.is_file() and root.resolve() in candidate.parents:
        return candidate
    return None
