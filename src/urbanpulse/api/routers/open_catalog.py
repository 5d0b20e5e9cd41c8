"""GET /api/catalog and /api/catalog.jsonld: which datasets exist, their licence,
provenance and coverage; as JSON, or DCAT JSON-LD (also by ``Accept: application/ld+json``)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from urbanpulse.api.deps import LakeDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.opendata import (
    NOT_MODIFIED,
    build_response,
    get_dataset_links,
    get_etag,
    is_fresh,
    not_modified,
)
from urbanpulse.api.opendata_schemas import CatalogLdPublic, CatalogPublic, DatasetPublic
from urbanpulse.opendata import Dataset, build_dcat_catalog, get_catalog

router = APIRouter(prefix="/api", tags=["open data"], responses=ERROR_RESPONSES)

JSONLD = "application/ld+json"


@router.get(
    "/catalog",
    response_model=CatalogPublic,
    summary="Catalogue of open datasets",
    responses={**NOT_MODIFIED, 200: {"content": {JSONLD: {}}}},
)
def list_datasets(request: Request, lake: LakeDep) -> Response:
    """Every published dataset: title, description, licence, provenance, update
    frequency, coverage computed from the lake, the scope it needs, formats and links.
    Send ``Accept: application/ld+json`` for the DCAT JSON-LD document."""
    if JSONLD in request.headers.get("accept", ""):
        return _serve_jsonld(request, lake)
    etag = get_etag(request, lake, "json")
    if is_fresh(request, etag):
        return not_modified(etag)
    items = [_dataset_public(request, d) for d in get_catalog(lake)]
    doc = CatalogPublic(
        synthetic=any(d.synthetic for d in items),
        count=len(items),
        jsonld=f"{str(request.base_url).rstrip('/')}/api/catalog.jsonld",
        items=items,
    )
    return build_response(request, doc.model_dump_json().encode(), "application/json", etag=etag)


@router.get(
    "/catalog.jsonld",
    response_model=CatalogLdPublic,
    summary="Catalogue of open datasets as DCAT JSON-LD",
    responses={**NOT_MODIFIED, 200: {"content": {JSONLD: {}}}},
)
def get_catalog_jsonld(request: Request, lake: LakeDep) -> Response:
    """The catalogue as a ``dcat:Catalog`` of ``dcat:Dataset`` nodes, each with its
    ``dcat:Distribution`` per format, ``dct:license``, ``dct:temporal`` and ``dct:spatial``."""
    return _serve_jsonld(request, lake)


def _serve_jsonld(request: Request, lake: LakeDep) -> Response:
    etag = get_etag(request, lake, "jsonld")
    if is_fresh(request, etag):
        return not_modified(etag)
    datasets = get_catalog(lake)
    links = {d.dataset_id: _format_links(request, d) for d in datasets}
    doc = build_dcat_catalog(datasets, base_url=str(request.base_url).rstrip("/"), links=links)
    body = json.dumps(doc, ensure_ascii=False).encode()
    return build_response(request, body, JSONLD, etag=etag)


def _format_links(request: Request, dataset: Dataset) -> dict[str, str]:
    links = get_dataset_links(request, dataset)
    links.pop("export")
    return links


def _dataset_public(request: Request, dataset: Dataset) -> DatasetPublic:
    cov = dataset.coverage
    coverage: dict[str, Any] = {
        "rows": cov.rows,
        "start": cov.start,
        "end": cov.end,
        "bbox": list(cov.bbox) if cov.bbox is not None else None,
        "regions": list(cov.regions),
    }
    return DatasetPublic(
        dataset_id=dataset.dataset_id,
        title=dataset.title,
        description=dataset.description,
        licence=dataset.licence,
        provenance=dataset.provenance,
        update_frequency=dataset.update_frequency,
        scope=dataset.scope,
        formats=list(dataset.formats),
        columns=list(dataset.columns),
        time_column=dataset.time_column,
        synthetic=dataset.synthetic,
        coverage=coverage,  # type: ignore[arg-type]
        links=get_dataset_links(request, dataset),
    )
