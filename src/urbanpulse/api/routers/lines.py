"""GET /api/lines: metro, bus and rail lines with their stations in running order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from urbanpulse.api.deps import AdviceServiceDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.schemas import LinePublic, LinesPublic
from urbanpulse.catalog import get_city

router = APIRouter(prefix="/api/lines", tags=["lines"], responses=ERROR_RESPONSES)

CityQuery = Annotated[
    str | None, Query(description="City code, English or Chinese name, e.g. 110000 or Beijing.")
]


@router.get("", response_model=LinesPublic, summary="List lines and their stations")
def list_lines(service: AdviceServiceDep, city: CityQuery = None) -> LinesPublic:
    """Lines (optionally of one city) with stations in order, for trip pickers."""
    lines = service.get_lines()
    if city:
        code = get_city(city, service.settings.region).code
        lines = [line for line in lines if line["city_code"] == code]
    items = [LinePublic(**line) for line in lines]
    return LinesPublic(synthetic=service.is_synthetic(), count=len(items), items=items)
