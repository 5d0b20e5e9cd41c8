"""Static assets under versioned URLs: gzipped once, cached by browsers for a year.

A page links ``/static/v/<digest>/<name>``, where the digest is taken from the file's
content, so a new release (or any edit) changes the URL and busts every cache, while
an unchanged file is never fetched twice: it is served ``immutable`` for a year. Each
file is gzipped once, on first use, and kept in memory (about 0.5 MB for all of
them), so no request pays for compression. The plain ``/static/<name>`` URLs keep
working for anything that links them; browsers revalidate those.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response

from urbanpulse.errors import NotFoundError

PREFIX = "/static/v"
IMMUTABLE = "public, max-age=31536000, immutable"
# An old page asking for a file by a digest that has since changed gets today's file,
# but only for a short while: its next load links the new digest.
REVALIDATE = "no-cache"
# Not worth a gzip header below this size.
MIN_GZIP_BYTES = 512
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    """One static file: its bytes, their gzip and the digest in its URL."""

    name: str
    body: bytes
    gzipped: bytes | None
    digest: str
    media_type: str
    mtime_ns: int


class AssetStore:
    """The files of ``directory`` by name, read and gzipped on first use.

    A file changed on disk (during development) is read again on its next use.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self._assets: dict[str, Asset] = {}

    def get_asset(self, name: str) -> Asset:
        """The asset ``name`` (a path relative to the directory).

        Raises
        ------
        NotFoundError
            When no such file lies inside the directory.
        """
        path = (self.directory / name).resolve()
        if not path.is_relative_to(self.directory) or not path.is_file():
            raise NotFoundError(f"no static file {name!r}")
        mtime = path.stat().st_mtime_ns
        asset = self._assets.get(name)
        if asset is None or asset.mtime_ns != mtime:
            asset = _read_asset(name, path, mtime)
            self._assets[name] = asset
        return asset

    def get_url(self, name: str) -> str:
        """The versioned URL path of ``name`` (without the app's mount point)."""
        return f"{PREFIX}/{self.get_asset(name).digest}/{name}"

    def build_response(self, request: Request, digest: str, name: str) -> Response:
        """The file, gzipped when the browser accepts it, cached for good when the
        digest is current."""
        asset = self.get_asset(name)
        current = digest == asset.digest
        headers = {
            "Cache-Control": IMMUTABLE if current else REVALIDATE,
            "ETag": f'"{asset.digest}"',
            "Vary": "Accept-Encoding",
        }
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        if request.headers.get("if-none-match") == headers["ETag"]:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=asset.media_type, headers=headers)


def _read_asset(name: str, path: Path, mtime_ns: int) -> Asset:
    body = path.read_bytes()
    packed = gzip.compress(body, compresslevel=9, mtime=0) if len(body) >= MIN_GZIP_BYTES else None
    media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    return Asset(
        name=name,
        body=body,
        gzipped=packed if packed is not None and len(packed) < len(body) else None,
        digest=hashlib.sha256(body).hexdigest()[:12],
        media_type=media_type or "application/octet-stream",
        mtime_ns=mtime_ns,
    )
