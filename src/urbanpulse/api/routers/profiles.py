"""GET /api/sites/{site_id}/profile: a site's usual day, by day type and period."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated

from fastapi import APIRouter, Query

from urbanpulse.access.matrix import get_data_policy
from urbanpulse.api.access import PrincipalDep
from urbanpulse.api.deps import EndQuery, EngineDep, LakeDep, SettingsDep, StartQuery, get_aware
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.routers.observations import MetricQuery
from urbanpulse.api.schemas import ProfilePublic, ProfileRowPublic
from urbanpulse.api.tables import get_metric_unit, get_records, get_site_record
from urbanpulse.forecast.profiles import compute_profile

router = APIRouter(prefix="/api/sites", tags=["profiles"], responses=ERROR_RESPONSES)


class Period(IntEnum):
    """Period lengths offered: fine, quarter-hour (the timetable unit) and hourly."""

    MINUTES_5 = 5
    MINUTES_15 = 15
    MINUTES_60 = 60


PeriodQuery = Annotated[Period, Query(description="Period length in minutes: 5, 15 or 60.")]


@router.get("/{site_id}/profile", response_model=ProfilePublic, summary="Period profile")
def get_profile(
    site_id: str,
    lake: LakeDep,
    settings: SettingsDep,
    engine: EngineDep,
    principal: PrincipalDep,
    metric: MetricQuery,
    period: PeriodQuery = Period.MINUTES_15,
    start: StartQuery = None,
    end: EndQuery = None,
) -> ProfilePublic:
    """Mean, median and 90th percentile of a metric by day type and period of local day.

    Callers who may not see raw observations (public, business) get cells of at least
    the data policy's minimum count, over whole months (start and end are widened)."""
    start = get_aware(start, settings, name="start")
    end = get_aware(end, settings, name="end")
    policy = get_data_policy("observations")
    if not policy.shows_raw(principal.scope):
        start, end = policy.widen_window(start, end, tz=settings.local_timezone)
    site = get_site_record(lake, site_id)
    unit = get_metric_unit(lake, site_id, metric, engine=engine)
    table = compute_profile(
        lake,
        site_id,
        metric,
        period_minutes=int(period),
        start=start,
        end=end,
        tz=settings.local_timezone,
        country=settings.holiday_country,
        engine=engine,
    )
    if not policy.shows_raw(principal.scope):
        table = policy.drop_small_cells(table, count_column="n")
    items = [ProfileRowPublic(**record) for record in get_records(table)]
    return ProfilePublic(
        site_id=site_id,
        metric=metric,
        unit=unit,
        period_minutes=int(period),
        timezone=settings.local_timezone,
        synthetic=site["synthetic"],
        count=len(items),
        items=items,
    )
