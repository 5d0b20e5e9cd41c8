"""GET /api/aggregates/{dataset_id}: the published smart-card aggregates (k-suppressed),
open to everyone; the same formats, paging and export as /api/datasets."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from urbanpulse.api.deps import LakeDep, SettingsDep, get_aware
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.opendata import (
    NOT_MODIFIED,
    PAGE_CONTENT,
    pick_format,
    serve_export,
    serve_page,
)
from urbanpulse.api.opendata_schemas import DatasetExportPublic, DatasetPagePublic
from urbanpulse.api.routers.datasets import (
    CursorQuery,
    EndQuery,
    ExportFormatQuery,
    FormatQuery,
    LimitQuery,
    StartQuery,
)
from urbanpulse.errors import NotFoundError
from urbanpulse.opendata import Dataset, get_catalog, get_dataset
from urbanpulse.store import Lake

router = APIRouter(prefix="/api/aggregates", tags=["open data"], responses=ERROR_RESPONSES)


@router.get(
    "/{dataset_id}",
    response_model=DatasetPagePublic,
    summary="Rows of a published aggregate, page by page",
    responses={**NOT_MODIFIED, 200: {"content": PAGE_CONTENT}},
)
def read_aggregate(
    dataset_id: str,
    request: Request,
    lake: LakeDep,
    settings: SettingsDep,
    format: FormatQuery = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 1000,
    start: StartQuery = None,
    end: EndQuery = None,
) -> Response:
    """A public dataset's rows in key order; cells below k are blank and flagged."""
    dataset = _get_public(lake, dataset_id)
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
    summary="Bulk export of a published aggregate over a time range",
    responses={**NOT_MODIFIED, 200: {"content": PAGE_CONTENT}},
)
def export_aggregate(
    dataset_id: str,
    request: Request,
    lake: LakeDep,
    settings: SettingsDep,
    format: ExportFormatQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
) -> Response:
    """All rows of a public dataset in [start, end) as one streamed download."""
    dataset = _get_public(lake, dataset_id)
    return serve_export(
        request,
        lake,
        dataset,
        fmt=pick_format(request, format, ("json", "csv", "ndjson", "parquet")),
        start=get_aware(start, settings, name="start"),
        end=get_aware(end, settings, name="end"),
    )


def _get_public(lake: Lake, dataset_id: str) -> Dataset:
    dataset = get_dataset(lake, dataset_id)
    if dataset.scope != "public":
        public = ", ".join(d.dataset_id for d in get_catalog(lake) if d.scope == "public")
        raise NotFoundError(
            f"{dataset_id!r} is not a public aggregate (read it at /api/datasets/{dataset_id} "
            f"with a key); public aggregates: {public or 'none'}"
        )
    return dataset
