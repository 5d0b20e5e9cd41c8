"""GET /api/aggregates/{dataset_id}: the published smart-card aggregates (k-suppressed),
open to everyone; the same formats, paging and export as /api/datasets."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

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
def read_aggregate(dataset_id: str, request: Request, lake: LakeDep, page: PageDep) -> Response:
    """A public dataset's rows in key order; cells below k are blank and flagged."""
    return serve_page(request, lake, _get_public(lake, dataset_id), page)


@router.get(
    "/{dataset_id}/export",
    response_model=DatasetExportPublic,
    summary="Bulk export of a published aggregate over a time range",
    responses={**NOT_MODIFIED, 200: {"content": PAGE_CONTENT}},
)
def export_aggregate(
    dataset_id: str, request: Request, lake: LakeDep, export: ExportDep
) -> Response:
    """All rows of a public dataset in [start, end) as one streamed download."""
    return serve_export(request, lake, _get_public(lake, dataset_id), export)


def _get_public(lake: Lake, dataset_id: str) -> Dataset:
    dataset = get_dataset(lake, dataset_id)
    if dataset.scope != "public":
        public = ", ".join(d.dataset_id for d in get_catalog(lake) if d.scope == "public")
        raise NotFoundError(
            f"{dataset_id!r} is not a public aggregate (read it at /api/datasets/{dataset_id} "
            f"with a key); public aggregates: {public or 'none'}"
        )
    return dataset
