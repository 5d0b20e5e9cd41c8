"""GET /api/datasets/{dataset_id} and its bulk export: the rows of a catalogued dataset
(business and government scopes) as JSON, CSV, NDJSON, Parquet or GeoJSON."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from urbanpulse.api.access import PrincipalDep
from urbanpulse.api.deps import LakeDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.opendata import (
    NOT_MODIFIED,
    PAGE_CONTENT,
    ExportDep,
    PageDep,
    serve_export,
    serve_page,
)
from urbanpulse.api.opendata_schemas import DatasetExportPublic, DatasetPagePublic
from urbanpulse.opendata import get_dataset
from urbanpulse.opendata.datasets import check_dataset_access

router = APIRouter(prefix="/api/datasets", tags=["open data"], responses=ERROR_RESPONSES)


@router.get(
    "/{dataset_id}",
    response_model=DatasetPagePublic,
    summary="Rows of a dataset, page by page",
    responses={**NOT_MODIFIED, 200: {"content": PAGE_CONTENT}},
)
def read_rows(
    dataset_id: str, request: Request, lake: LakeDep, principal: PrincipalDep, page: PageDep
) -> Response:
    """Rows in a stable key order; follow ``next`` (or the ``Link: rel=next`` header)
    until it is null. Conditional GET with If-None-Match answers 304 while the lake
    has not changed."""
    dataset = get_dataset(lake, dataset_id)
    check_dataset_access(dataset, principal.scope)
    return serve_page(request, lake, dataset, page)


@router.get(
    "/{dataset_id}/export",
    response_model=DatasetExportPublic,
    summary="Bulk export of a dataset over a time range",
    responses={**NOT_MODIFIED, 200: {"content": PAGE_CONTENT}},
)
def export_rows(
    dataset_id: str, request: Request, lake: LakeDep, principal: PrincipalDep, export: ExportDep
) -> Response:
    """All rows in [start, end) as one streamed download (JSON is a plain array)."""
    dataset = get_dataset(lake, dataset_id)
    check_dataset_access(dataset, principal.scope)
    return serve_export(request, lake, dataset, export)
