"""The site page: details, period profile and recent observations of one site."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from urbanpulse.access import ANONYMOUS, Principal
from urbanpulse.access.matrix import DataPolicy, get_data_policy
from urbanpulse.catalog import get_city
from urbanpulse.errors import NotFoundError
from urbanpulse.forecast.profiles import compute_profile
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, get_site, get_site_metrics, read_observations
from urbanpulse.store.interface import Engine
from urbanpulse.web.charts import build_profile_figure, build_recent_figure
from urbanpulse.web.data import get_recent_window
from urbanpulse.web.rendering import render_page

router = APIRouter()

PERIODS = (5, 15, 60)
# Buckets of the published recent series, finest first (minutes of the local clock).
PUBLISHED_PERIODS = (60, 1440)


@router.get("/sites/{site_id}", response_class=HTMLResponse)
def get_site_page(
    request: Request,
    site_id: str,
    metric: Annotated[str | None, Query()] = None,
    period: Annotated[int, Query()] = 15,
) -> HTMLResponse:
    lake: Lake = request.app.state.lake
    settings: Settings = request.app.state.settings
    site = get_site(lake, site_id)
    metrics = get_site_metrics(lake, site_id)
    # A page, unlike the API, falls back to sensible choices instead of failing.
    if metric not in set(metrics["metric"]):
        metric = str(metrics["metric"].iloc[0]) if len(metrics) else None
    period = period if period in PERIODS else 15
    # What the caller may see of the data: raw readings, or aggregates of enough of them.
    principal: Principal = getattr(request.state, "principal", ANONYMOUS)
    policy = get_data_policy("observations")
    raw = policy.shows_raw(principal.scope)
    charts = (
        _build_charts(
            lake,
            settings,
            site_id,
            metric,
            period,
            metrics,
            engine=request.app.state.context.engine,
            policy=None if raw else policy,
        )
        if metric
        else {}
    )
    return render_page(
        request,
        "site.html",
        title=str(site.get("name_en") or site_id),
        synthetic=bool(site["synthetic"]),
        site=site,
        city=_find_city(_text_or_none(site.get("city_code")), settings.region),
        metrics=metrics.to_dict("records"),
        metric=metric,
        period=period,
        periods=PERIODS,
        timezone=settings.local_timezone,
        published_min_count=None if raw else policy.min_count,
        **charts,
    )


def _build_charts(
    lake: Lake,
    settings: Settings,
    site_id: str,
    metric: str,
    period: int,
    metrics: pd.DataFrame,
    *,
    engine: Engine,
    policy: DataPolicy | None,
) -> dict[str, Any]:
    """The profile and recent charts; with a ``policy``, only what it publishes: profile
    cells and recent buckets of at least its minimum count."""
    row = metrics[metrics["metric"] == metric].iloc[0]
    unit = None if pd.isna(row["unit"]) else str(row["unit"])
    profile = compute_profile(
        lake,
        site_id,
        metric,
        period_minutes=period,
        tz=settings.local_timezone,
        country=settings.holiday_country,
        engine=engine,
    )
    start, end = get_recent_window(pd.Timestamp(row["last_ts"]))
    if policy is None:
        recent = read_observations(lake, metric, site_ids=[site_id], start=start, end=end)
    else:
        profile = policy.drop_small_cells(profile, count_column="n")
        recent = _read_published_series(
            engine, lake, site_id, metric, start, end, tz=settings.local_timezone, policy=policy
        )
    return {
        "profile_figure": build_profile_figure(
            profile, metric=metric, unit=unit, period_minutes=period
        ),
        "recent_figure": build_recent_figure(
            recent, metric=metric, unit=unit, tz=settings.local_timezone
        ),
        "recent_days": (end - start).days,
    }


def _read_published_series(
    engine: Engine,
    lake: Lake,
    site_id: str,
    metric: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    tz: str,
    policy: DataPolicy,
) -> pd.DataFrame:
    """The recent series as the policy publishes it: means of local hours, or of local
    days where an hour usually holds fewer than its minimum count, computed inside the
    engine; buckets below the minimum left out. Columns: ts (bucket start), value, n."""
    for minutes in PUBLISHED_PERIODS:
        buckets = engine.compute_periods(
            lake, metric, period_minutes=minutes, tz=tz, site_ids=[site_id], start=start, end=end
        ).to_pandas()
        if buckets.empty or buckets["n"].median() >= policy.min_count:
            break
    kept = policy.drop_small_cells(buckets, count_column="n")
    return kept.rename(columns={"period_start": "ts", "mean": "value"})[["ts", "value", "n"]]


def _find_city(code: str | None, region: str) -> Any:
    if not code:
        return None
    try:
        return get_city(code, region)
    except NotFoundError:
        return None


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
