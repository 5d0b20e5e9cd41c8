"""The developer page: what the open data API offers, how to get a key, its limits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from urbanpulse.i18n import gettext as _
from urbanpulse.opendata import get_catalog
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.web.rendering import render_page

router = APIRouter()
SCOPES = ("public", "business", "government", "admin")


@router.get("/developers", response_class=HTMLResponse)
def get_developers(request: Request) -> HTMLResponse:
    lake: Lake = request.app.state.lake
    settings: Settings = request.app.state.settings
    datasets = get_catalog(lake)
    return render_page(
        request,
        "developers.html",
        title=_("Open data API for developers"),
        synthetic=any(d.synthetic for d in datasets),
        datasets=[_describe(d) for d in datasets],
        limits=build_limit_rows(settings),
        base_url=str(request.base_url).rstrip("/"),
        example_dataset=_pick_example(datasets),
    )


def build_limit_rows(settings: Settings) -> list[dict[str, Any]]:
    """Requests per minute and per day of each scope, as the server enforces them
    (None: not limited)."""
    return [
        {
            "scope": scope,
            "per_minute": settings.rate_limit_per_minute.get(scope),
            "per_day": settings.quota_per_day.get(scope),
        }
        for scope in SCOPES
    ]


def _describe(dataset: Any) -> dict[str, Any]:
    coverage = dataset.coverage
    return {
        "id": dataset.dataset_id,
        "title": dataset.title,
        "scope": dataset.scope,
        "formats": ", ".join(dataset.formats),
        "rows": coverage.rows,
        "start": (coverage.start or "")[:10],
        "end": (coverage.end or "")[:10],
        "licence": dataset.licence,
        "synthetic": dataset.synthetic,
        "public": dataset.scope == "public",
    }


def _pick_example(datasets: list[Any]) -> str:
    for dataset in datasets:
        if dataset.scope != "public" and dataset.time_column:
            return str(dataset.dataset_id)
    return str(datasets[0].dataset_id) if datasets else "sites"
