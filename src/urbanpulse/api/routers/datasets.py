"""GET /api/datasets/{dataset_id} and its bulk export: the rows of a catalogued dataset
(business and government scopes) as JSON, CSV, NDJSON, Parquet or GeoJSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from urbanpulse.api.access import PrincipalDep
from urbanpulse.api.deps import LakeDep, SettingsDep, get_aware
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.opendata import (
    NOT_MODIFIED,
    PAGE_CONTENT,
    ExportFormat,
    Format,
    pick_format,
    serve_export,
    serve_page,
)
from urbanpulse.api.opendata_schemas import DatasetExportPublic, DatasetPagePublic
from urbanpulse.opendata import get_dataset
from urbanpulse.opendata.datasets import check_dataset_access

router = APIRouter(prefix="/api/datasets", tags=["open data"], responses=ERROR_RESPONSES)

MAX_LIMIT = 10_000

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
StartQuery = Annotated[
    datetime | None,
    Query(description="ISO 8601 start (inclusive), for timed datasets; local time without offset."),
]
EndQuery = Annotated[
    datetime | None,
    Query(description="ISO 8601 end (exclusive), for timed datasets; local time without offset."),
]


@router.get(
    "/{dataset_id}",
    response_model=DatasetPagePublic,
    summary="Rows of a dataset, page by page",
    responses={**NOT_MODIFIED, 200: {"content": PAGE_CONTENT}},
)
def read_rows(
    dataset_id: str,
    request: Request,
    lake: LakeDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    format: FormatQuery = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 1000,
    start: StartQuery = None,
    end: EndQuery = None,
) -> Response:
    """Rows in a stable key order; follow ``next`` (or the ``Link: rel=next`` header)
    until it is null. Conditional GET with If-None-Match answers 304 while the lake
    has not changed."""
    dataset = get_dataset(lake, dataset_id)
    check_dataset_access(dataset, principal.scope)
    return serve_page(
        request,
        lake,
        dataset,
        fmt=pick_format(request, format, dataset.formats),
        cursor=cursor,
        limit=limit,
        start=get_aware(start, settings, name="start"),
        end=get_aware(end, settings, name="end"),
    )


@router.get(
    "/{dataset_id}/export",
    response_model=DatasetExportPublic,
    summary="Bulk export of a dataset over a time range",
    responses={**NOT_MODIFIED, 200: {"content": PAGE_CONTENT}},
)
def export_rows(
    dataset_id: str,
    request: Request,
    lake: LakeDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    format: ExportFormatQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
) -> Response:
    """All rows in [start, end) as one streamed download (JSON is a plain array)."""
    dataset = get_dataset(lake, dataset_id)
    check_dataset_access(dataset, principal.scope)
    return serve_export(
        request,
        lake,
        dataset,
        fmt=pick_format(request, format, ("json", "csv", "ndjson", "parquet")),
        start=get_aware(start, settings, name="start"),
        end=get_aware(end, settings, name="end"),
    )
