"""GET /api/sites/{site_id}/forecast: a site's metric, period by period, with its band."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from urbanpulse.api.deps import EngineDep, LakeDep, SettingsDep, StartQuery, get_aware
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.routers.observations import MetricQuery
from urbanpulse.api.routers.profiles import Period, PeriodQuery
from urbanpulse.api.schemas import ForecastPublic, ForecastRowPublic
from urbanpulse.api.tables import get_metric_unit, get_records, get_site_record
from urbanpulse.forecast.protocol import CalendarSpec
from urbanpulse.forecast.service import forecast_site

router = APIRouter(prefix="/api/sites", tags=["forecasts"], responses=ERROR_RESPONSES)

HorizonQuery = Annotated[
    int,
    Query(ge=5, le=24 * 60, description="How far ahead, in minutes (5 minutes to 24 hours)."),
]
# Per-request models stay cheap; the learned global model is for backtests and batch runs.
ModelQuery = Annotated[
    Literal["auto_simple", "persistence", "rolling_mean", "weekly_naive", "seasonal_profile"],
    Query(description="Model: auto_simple picks the best of the others on held-out days."),
]


@router.get("/{site_id}/forecast", response_model=ForecastPublic, summary="Forecast")
def get_forecast(
    site_id: str,
    lake: LakeDep,
    settings: SettingsDep,
    engine: EngineDep,
    metric: MetricQuery,
    horizon: HorizonQuery = 180,
    period: PeriodQuery = Period.MINUTES_15,
    start: StartQuery = None,
    model: ModelQuery = "auto_simple",
) -> ForecastPublic:
    """Forecast with p10/p90 band from ``start`` (default: right after the last observation)."""
    start = get_aware(start, settings, name="start")
    site = get_site_record(lake, site_id)
    unit = get_metric_unit(lake, site_id, metric, engine=engine)
    table = forecast_site(
        lake,
        site_id,
        metric,
        start=start,
        horizon=timedelta(minutes=horizon),
        period_minutes=int(period),
        model=model,
        calendar=CalendarSpec.from_settings(settings),
    )
    items = [ForecastRowPublic(**record) for record in get_records(table)]
    return ForecastPublic(
        site_id=site_id,
        metric=metric,
        unit=unit,
        period_minutes=int(period),
        synthetic=site["synthetic"],
        count=len(items),
        items=items,
    )
