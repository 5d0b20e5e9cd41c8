"""GET /api/sites and /api/sites/{site_id}: what reports data, and where."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from urbanpulse.api.deps import LakeDep, SettingsDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.schemas import SiteDetailPublic, SiteMetricPublic, SitePublic, SitesPublic
from urbanpulse.api.tables import get_records, get_site_record, get_site_records
from urbanpulse.catalog import SITE_KINDS, City, get_city
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.store import get_site_metrics, read_sites

router = APIRouter(prefix="/api/sites", tags=["sites"], responses=ERROR_RESPONSES)

KindQuery = Annotated[
    str | None, Query(description=f"Site kind, one of: {', '.join(sorted(SITE_KINDS))}.")
]
CityQuery = Annotated[
    str | None, Query(description="City code, English or Chinese name, e.g. 110000 or Beijing.")
]


@router.get("", response_model=SitesPublic, summary="List sites")
def list_sites(
    lake: LakeDep, settings: SettingsDep, kind: KindQuery = None, city: CityQuery = None
) -> SitesPublic:
    """Sites, optionally of one kind and in one city."""
    if kind is not None and kind not in SITE_KINDS:
        raise InvalidQueryError(
            f"unknown site kind {kind!r}; use one of: {', '.join(sorted(SITE_KINDS))}"
        )
    city_code = get_city(city, settings.region).code if city else None
    items = [
        SitePublic(**r) for r in get_site_records(read_sites(lake, kind=kind, city_code=city_code))
    ]
    return SitesPublic(synthetic=any(s.synthetic for s in items), count=len(items), items=items)


@router.get("/{site_id}", response_model=SiteDetailPublic, summary="One site and its metrics")
def get_site(site_id: str, lake: LakeDep, settings: SettingsDep) -> SiteDetailPublic:
    """A site's details, its city and the metrics it reports with their time span."""
    record = get_site_record(lake, site_id)
    metrics = [SiteMetricPublic(**m) for m in get_records(get_site_metrics(lake, site_id))]
    city = _find_city(record.get("city_code"), settings.region)
    return SiteDetailPublic(
        **record,
        city_name_zh=city.name_zh if city else None,
        city_name_en=city.name_en if city else None,
        metrics=metrics,
    )


def _find_city(code: str | None, region: str) -> City | None:
    if not code:
        return None
    try:
        return get_city(code, region)
    except NotFoundError:
        return None  # a site may lie outside the catalogued region; it is still a site
