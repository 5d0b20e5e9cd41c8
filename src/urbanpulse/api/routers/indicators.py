"""GET /api/indicators: yearly city and region indicators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from urbanpulse.api.deps import LakeDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.schemas import IndicatorPublic, IndicatorsPublic
from urbanpulse.api.tables import get_records
from urbanpulse.store import read_indicators

router = APIRouter(prefix="/api/indicators", tags=["indicators"], responses=ERROR_RESPONSES)


@router.get("", response_model=IndicatorsPublic, summary="Yearly indicators")
def list_indicators(
    lake: LakeDep,
    indicator: Annotated[str | None, Query(description="Indicator name, exact.")] = None,
    region: Annotated[str | None, Query(description="Region or city code, exact.")] = None,
) -> IndicatorsPublic:
    """Indicator values by region and year, with their source and vintage."""
    table = read_indicators(lake, indicator=indicator)
    if region:
        table = table[table["region_code"] == region]
    records = get_records(table)
    for record in records:
        record["synthetic"] = bool(record.get("synthetic"))
    items = [IndicatorPublic(**record) for record in records]
    return IndicatorsPublic(
        synthetic=any(i.synthetic for i in items), count=len(items), items=items
    )
