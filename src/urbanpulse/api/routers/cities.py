"""GET /api/cities: the region's cities from the built-in catalogue."""

from __future__ import annotations

from fastapi import APIRouter

from urbanpulse.api.deps import LakeDep, SettingsDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.schemas import CitiesPublic, CityPublic
from urbanpulse.api.tables import get_records
from urbanpulse.catalog import get_cities_table
from urbanpulse.store import read_sites

router = APIRouter(prefix="/api/cities", tags=["cities"], responses=ERROR_RESPONSES)


@router.get("", response_model=CitiesPublic, summary="Cities of the region")
def list_cities(lake: LakeDep, settings: SettingsDep) -> CitiesPublic:
    """Cities with Chinese and English names, 2020 census population and site count."""
    cities = get_cities_table(settings.region)
    counts = read_sites(lake)["city_code"].value_counts()
    cities["sites"] = cities["code"].map(counts).fillna(0).astype(int)
    items = [CityPublic(**record) for record in get_records(cities)]
    return CitiesPublic(synthetic=False, count=len(items), items=items)
