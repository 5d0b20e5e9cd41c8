"""HTTP for the open data routes: picking a format, ETags and 304s, gzip, pages and
streamed exports. The rows, formats and catalogue come from :mod:`urbanpulse.opendata`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from urbanpulse.api.deps import EndQuery, LakeDep, SettingsDep, StartQuery, get_aware
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.opendata_schemas import DatasetExportPublic, DatasetPagePublic
from urbanpulse.errors import InvalidQueryError
from urbanpulse.opendata import (
    FORMAT_MEDIA_TYPES,
    Dataset,
    build_geojson,
    encode_batches,
    encode_table,
    get_records,
    read_dataset_batches,
    read_dataset_page,
)
from urbanpulse.store import Lake

Format = Literal["json", "csv", "ndjson", "parquet", "geojson"]
ExportFormat = Literal["json", "csv", "ndjson", "parquet"]
EXPORT_FORMATS: tuple[str, ...] = ("json", "csv", "ndjson", "parquet")
MAX_LIMIT = 10_000
GZIP_MIN_BYTES = 1024
# Accept media types a client may name instead of ?format=, most specific first.
ACCEPTED: tuple[tuple[str, str], ...] = (
    ("application/geo+json", "geojson"),
    ("application/vnd.apache.parquet", "parquet"),
    ("application/x-parquet", "parquet"),
    ("application/x-ndjson", "ndjson"),
    ("application/ndjson", "ndjson"),
    ("text/csv", "csv"),
)
PAGE_CONTENT: dict[str, Any] = {
    "application/geo+json": {},
    "text/csv": {},
    "application/x-ndjson": {},
    "application/vnd.apache.parquet": {},
}
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the ETag in If-None-Match is still current."}
}


FormatQuery = Annotated[
    Format | None,
    Query(description="json, csv, ndjson, parquet or geojson (sites and lines); or use Accept."),
]
ExportFormatQuery = Annotated[
    ExportFormat | None, Query(description="json, csv, ndjson or parquet; or use Accept.")
]
CursorQuery = Annotated[
    str | None,
    Query(max_length=4000, description="Opaque cursor from the previous page's next link."),
]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most rows per page.")]


@dataclass(frozen=True, slots=True)
class RowsQuery:
    """What a page or an export of a dataset asks for: a format (None: by Accept), a
    cursor and a page size (pages only), and a window in the region's time."""

    format: str | None
    start: datetime | None
    end: datetime | None
    cursor: str | None = None
    limit: int = 1000


async def get_page_query(
    settings: SettingsDep,
    format: FormatQuery = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 1000,
    start: StartQuery = None,
    end: EndQuery = None,
) -> RowsQuery:
    """The query parameters of a dataset's page (``/api/datasets``, ``/api/aggregates``)."""
    return RowsQuery(
        format, get_aware(start, settings, name="start"), get_aware(end, settings, name="end"),
        cursor, limit,
    )  # fmt: skip


async def get_export_query(
    settings: SettingsDep,
    format: ExportFormatQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
) -> RowsQuery:
    """The query parameters of a dataset's bulk export."""
    return RowsQuery(
        format, get_aware(start, settings, name="start"), get_aware(end, settings, name="end")
    )


PageDep = Annotated[RowsQuery, Depends(get_page_query)]
ExportDep = Annotated[RowsQuery, Depends(get_export_query)]


def pick_format(request: Request, fmt: str | None, allowed: tuple[str, ...]) -> str:
    """The format asked for by ``?format=`` or else by Accept; JSON by default."""
    if fmt is None:
        accept = request.headers.get("accept", "")
        fmt = next((name for media, name in ACCEPTED if media in accept), "json")
    if fmt not in allowed:
        raise InvalidQueryError(
            f"format {fmt!r} is not offered here; use one of {', '.join(allowed)}"
        )
    return fmt


def get_etag(request: Request, lake: Lake, *parts: str) -> str:
    """A weak ETag from the lake's version and the query: any commit changes it."""
    query = sorted(request.query_params.multi_items())
    text = json.dumps([lake.version, request.url.path, query, *parts])
    return f'W/"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


def is_fresh(request: Request, etag: str) -> bool:
    """Whether the client's If-None-Match already names ``etag`` (weak comparison)."""
    given = request.headers.get("if-none-match", "")
    if given.strip() == "*":
        return True
    tags = {t.strip().removeprefix("W/") for t in given.split(",") if t.strip()}
    return etag.removeprefix("W/") in tags


def not_modified(etag: str) -> Response:
    """The 304 answer to a conditional GET whose copy is current."""
    return Response(status_code=304, headers={"ETag": etag, "Vary": "Accept, Accept-Encoding"})


def build_response(
    request: Request,
    body: bytes,
    media_type: str,
    *,
    etag: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """A response with its ETag, gzipped when the client accepts it and it is worth it."""
    out = {"ETag": etag, "Vary": "Accept, Accept-Encoding", **(headers or {})}
    if len(body) >= GZIP_MIN_BYTES and _accepts_gzip(request) and "parquet" not in media_type:
        body = gzip.compress(body, compresslevel=6)
        out["Content-Encoding"] = "gzip"
    return Response(body, media_type=media_type, headers=out)


def serve_page(request: Request, lake: Lake, dataset: Dataset, query: RowsQuery) -> Response:
    """One page of a dataset in the format asked for, with a ``Link: rel=next`` header
    (and a ``next`` member in JSON and GeoJSON)."""
    fmt, limit = pick_format(request, query.format, dataset.formats), query.limit
    etag = get_etag(request, lake, fmt)
    if is_fresh(request, etag):
        return not_modified(etag)
    page = read_dataset_page(
        lake, dataset, limit=limit, cursor=query.cursor, start=query.start, end=query.end
    )
    next_url = None
    if page.next_cursor is not None:
        next_url = str(request.url.include_query_params(cursor=page.next_cursor))
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
    if fmt in ("json", "geojson"):
        common = {"dataset_id": dataset.dataset_id, "synthetic": dataset.synthetic}
        if fmt == "json":
            items = get_records(page.rows)
            doc = {**common, "count": len(items), "limit": limit, "next": next_url, "items": items}
        else:
            doc = {**build_geojson(page.rows, dataset), **common, "next": next_url}
        body = json.dumps(doc, ensure_ascii=False).encode()
    else:
        body = encode_table(page.rows, fmt)
    return build_response(request, body, FORMAT_MEDIA_TYPES[fmt], etag=etag, headers=headers)


def serve_export(request: Request, lake: Lake, dataset: Dataset, query: RowsQuery) -> Response:
    """The dataset's rows in [start, end), streamed batch by batch as a download."""
    fmt = pick_format(request, query.format, EXPORT_FORMATS)
    etag = get_etag(request, lake, fmt)
    if is_fresh(request, etag):
        return not_modified(etag)
    schema, batches = read_dataset_batches(lake, dataset, start=query.start, end=query.end)
    chunks = encode_batches(schema, batches, fmt)
    if fmt == "json":
        chunks = _wrap_json(chunks, dataset)
    headers = {
        "ETag": etag,
        "Vary": "Accept, Accept-Encoding",
        "Content-Disposition": f'attachment; filename="{dataset.dataset_id}.{fmt}"',
    }
    if fmt != "parquet" and _accepts_gzip(request):
        chunks = _gzip_stream(chunks)
        headers["Content-Encoding"] = "gzip"
    return StreamingResponse(chunks, media_type=FORMAT_MEDIA_TYPES[fmt], headers=headers)


def get_dataset_links(request: Request, dataset: Dataset) -> dict[str, str]:
    """The URL of each format of a dataset, and of its bulk export."""
    base = str(request.base_url).rstrip("/")
    prefix = "aggregates" if dataset.scope == "public" else "datasets"
    url = f"{base}/api/{prefix}/{dataset.dataset_id}"
    links = {fmt: f"{url}?format={fmt}" for fmt in dataset.formats}
    links["export"] = f"{url}/export?format=csv"
    return links


def _wrap_json(array: Iterator[bytes], dataset: Dataset) -> Iterator[bytes]:
    head = {"dataset_id": dataset.dataset_id, "synthetic": dataset.synthetic}
    yield json.dumps(head)[:-1].encode() + b', "items": '
    yield from array
    yield b"}"


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def _gzip_stream(chunks: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip header and trailer
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


def build_rows_router(prefix: str, find: Callable[..., Dataset], what: str) -> APIRouter:
    """A door to datasets' rows: one page at a time, and a bulk export over a time range.

    ``find`` is the door's dependency: it names the dataset from the path and refuses
    what the caller may not read through this door, so the two routes behave alike.
    """
    router = APIRouter(prefix=prefix, tags=["open data"], responses=ERROR_RESPONSES)
    # A default, not an Annotated alias: annotations here are text, read in the module.
    found = Depends(find)

    answers: dict[int | str, dict[str, Any]] = {**NOT_MODIFIED, 200: {"content": PAGE_CONTENT}}

    @router.get("/{dataset_id}", response_model=DatasetPagePublic, summary=f"Rows of {what}, page by page", responses=answers)  # fmt: skip
    def read_rows(
        request: Request, lake: LakeDep, page: PageDep, dataset: Dataset = found
    ) -> Response:
        """Rows in a stable key order (cells below k are blank and flagged); follow
        ``next`` (or the ``Link: rel=next`` header) until it is null. Conditional GET
        with If-None-Match answers 304 while the lake has not changed."""
        return serve_page(request, lake, dataset, page)

    @router.get("/{dataset_id}/export", response_model=DatasetExportPublic, summary=f"Bulk export of {what} over a time range", responses=answers)  # fmt: skip
    def export_rows(
        request: Request, lake: LakeDep, export: ExportDep, dataset: Dataset = found
    ) -> Response:
        """All rows in [start, end) as one streamed download (JSON is a plain array)."""
        return serve_export(request, lake, dataset, export)

    return router
